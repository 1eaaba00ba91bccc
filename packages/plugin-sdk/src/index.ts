/**
 * The façade kept for existing imports: the contract (what a plugin needs) and the host
 * (what the engine needs). New plugins import @topoforge/plugin-contract alone and test
 * with @topoforge/plugin-testing.
 */
export * from '@topoforge/plugin-contract';
export * from '@topoforge/plugin-host';
