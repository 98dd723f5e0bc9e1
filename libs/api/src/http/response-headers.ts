import { CORS_RESPONSE_HEADERS } from './cors.js';
import { SECURITY_HEADERS } from './security-headers.js';

/** The headers every response carries, whatever answers it: security policy and CORS. */
export const RESPONSE_HEADERS = { ...SECURITY_HEADERS, ...CORS_RESPONSE_HEADERS } as const;
