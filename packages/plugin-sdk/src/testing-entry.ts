export * from '@topoforge/plugin-testing';
