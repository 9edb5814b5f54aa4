// The security headers every hub answer carries, set by the app's first middleware and by the token
// check's fast path (handlers/api/user-fast.ts), which answers before the app.

/**
 * Hub pages: no framing by other sites (JupyterHub's frame-ancestors 'self'), no Referer carrying a
 * login code, state or ticket off-site, no MIME sniffing, and scripts, styles and connections only
 * from the hub itself. API answers are data, never a document to render or frame.
 */
export const PAGE_HEADERS = {
  'Content-Security-Policy': "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'self'",
  'Referrer-Policy': 'same-origin',
  'X-Content-Type-Options': 'nosniff',
};
export const API_HEADERS = {
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
  'Referrer-Policy': 'same-origin',
  'X-Content-Type-Options': 'nosniff',
};
