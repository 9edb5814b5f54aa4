// Escaping for the few HTML strings built outside hono/jsx (error pages, SSE html_message).
export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
