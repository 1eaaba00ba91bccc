/**
 * Credential detection for rendered trees: the scanner itself is @topoforge/secret-scan
 * (shared with the model check, the engine's output check and the CLI's redaction).
 */
export { credentialReason, scanObject, scanText, redactSecrets, type SecretFinding } from '@topoforge/secret-scan';
