/** Errors are values with codes; the CLI prints `error [CODE] message` and the hint. */
export type SandboxErrorCode =
  | 'SANDBOX_TOOL_MISSING'
  | 'SANDBOX_RUNNING'
  | 'SANDBOX_NOT_RUNNING'
  | 'SANDBOX_START_FAILED'
  | 'SANDBOX_CRD_INVALID'
  | 'SANDBOX_CRD_FAILED'
  | 'SANDBOX_BAD_INPUT';

export class SandboxError extends Error {
  readonly code: SandboxErrorCode;
  readonly hint?: string;
  constructor(code: SandboxErrorCode, message: string, hint?: string) {
    super(message);
    this.name = 'SandboxError';
    this.code = code;
    if (hint !== undefined) this.hint = hint;
  }
}
