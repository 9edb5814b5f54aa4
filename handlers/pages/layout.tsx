/** @jsxImportSource hono/jsx */
// The one page frame: title bar, content, small inline stylesheet. No external assets.
import type { Child } from 'hono/jsx';

const CSS = `
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;background:#f6f8fa}
header{background:#24292f;color:#fff;padding:.6rem 1.2rem;display:flex;align-items:center;justify-content:space-between}
header a{color:#fff;text-decoration:none}
header .brand{font-weight:600;letter-spacing:.02em}
main{max-width:44rem;margin:2rem auto;padding:0 1rem}
.card{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:1.4rem 1.6rem;margin-bottom:1rem}
h1{font-size:1.35rem;margin:0 0 1rem}
label{display:block;font-weight:600;margin:.8rem 0 .25rem}
input[type=text],input[type=password]{width:100%;padding:.5rem .6rem;border:1px solid #d0d7de;border-radius:6px;font:inherit}
button,.button{display:inline-block;margin-top:1rem;padding:.45rem 1rem;border-radius:6px;border:1px solid #1f883d;background:#1f883d;color:#fff;font:inherit;cursor:pointer;text-decoration:none}
button.secondary,.button.secondary{background:#fff;color:#1f2328;border-color:#d0d7de}
button.danger{background:#cf222e;border-color:#cf222e}
button[disabled]{opacity:.6;cursor:default}
.error{color:#cf222e;background:#ffebe9;border:1px solid #ff818266;border-radius:6px;padding:.5rem .8rem}
.muted{color:#656d76}
.state{font-weight:600}
.bar{height:.9rem;background:#eaeef2;border-radius:6px;overflow:hidden;margin:1rem 0}
.bar>div{height:100%;width:0;background:#1f883d;transition:width .3s}
pre.log{background:#24292f;color:#e6edf3;padding:.8rem;border-radius:6px;overflow:auto;max-height:20rem;font-size:13px}
ul.events{padding-left:1.2rem;color:#656d76;font-size:14px}
form.inline{display:inline}
`;

export function Layout(props: { title: string; user?: string | undefined; hub: string; refresh?: number; children?: Child }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        {props.refresh ? <meta http-equiv="refresh" content={String(props.refresh)} /> : null}
        <title>{props.title} — Berth</title>
        <style dangerouslySetInnerHTML={{ __html: CSS }} />
      </head>
      <body>
        <header>
          <a class="brand" href={`${props.hub}home`}>Berth</a>
          {props.user ? (
            <span>
              {props.user} · <a href={`${props.hub}logout`}>Logout</a>
            </span>
          ) : null}
        </header>
        <main>{props.children}</main>
      </body>
    </html>
  );
}

/** Inline script data: JSON with `<` escaped so no value can close the script element. */
export const scriptJson = (v: unknown) => JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');

/** An error as a page (for browser-facing endpoints outside the app's own error mapper). */
export const ErrorPage = (props: { hub: string; status: number; message: string }) => (
  <Layout title={String(props.status)} hub={props.hub}>
    <div class="card">
      <h1>{props.status}</h1>
      <p>{props.message}</p>
    </div>
  </Layout>
);
