export { ERRORS, type ErrorCode, type ErrorData } from './errors-data.js';
export { AREA_PREFIXES, errorsMarkdown } from './docs.js';
export { catalogHint, docsAnchor, explainCode, similarCodes } from './format.js';

import { ERRORS, type ErrorCode, type ErrorData } from './errors-data.js';

export const isErrorCode = (code: string): code is ErrorCode => Object.hasOwn(ERRORS, code);

export function errorData(code: ErrorCode): ErrorData {
  return ERRORS[code];
}
