// Public routes describing the API: the OpenAPI document and a page that renders it.
import { Hono } from "hono";
import { routes } from "../api/contract.ts";
import { openApiDocument } from "../api/openapi.ts";
import { guard, type ApiEnv } from "../auth/guard.ts";
import { docsPageCsp } from "../http/security-headers.ts";

/** Built once per isolate: the route table does not change at runtime. */
let document: ReturnType<typeof openApiDocument> | undefined;

export const metaRoutes = new Hono<ApiEnv>()
  .get("/openapi.json", guard(routes.openapi), (c) => {
    document ??= openApiDocument();
    return c.json(document, 200);
  })
  .get("/docs", guard(routes.docs), async (c) => {
    // The page's own policy (the API's default-src 'none' would block its script and style);
    // the global security headers keep it (worker/http/security-headers.ts).
    docsCsp ??= await docsPageCsp(docsScript, docsStyle);
    return c.html(docsPage, 200, { "Content-Security-Policy": docsCsp });
  });

/** The docs page's Content-Security-Policy: computed once per isolate (hashes of constants). */
let docsCsp: string | undefined;

// A dependency-free reader of the document: every operation with its permission, parameters
// and schemas, rendered from /api/v1/openapi.json by a few lines of script.
// The inline style and script are constants of their own: the page's CSP allows exactly these two
// blocks by their SHA-256 (no 'unsafe-inline').
const docsStyle =
  `
body{font:14px/1.5 system-ui,sans-serif;margin:0 auto;max-width:960px;padding:24px;color:#1b1f24}
h1{font-size:22px}h2{font-size:16px;margin:28px 0 8px;border-bottom:1px solid #d0d7de}
.op{border:1px solid #d0d7de;border-radius:6px;margin:10px 0;padding:8px 12px}
.m{font:600 12px ui-monospace,monospace;padding:2px 6px;border-radius:4px;background:#eef;` +
  `margin-right:8px;text-transform:uppercase}
code,pre{font:12px ui-monospace,monospace}pre{background:#f6f8fa;padding:8px;overflow:auto;max-height:320px}
.perm{float:right;font-size:12px;color:#57606a}
`;

const docsScript =
  `
fetch("/api/v1/openapi.json").then(r => r.json()).then(doc => {
  const byTag = {};
  for (const [path, item] of Object.entries(doc.paths)) for (const [method, op] of Object.entries(item)) ` +
  `(byTag[op.tags[0]] ??= []).push({ path, method, op });
  const main = document.getElementById("ops"); main.textContent = "";
  const el = (tag, text, cls) => { const e = document.createElement(tag); ` +
  `if (text) e.textContent = text; if (cls) e.className = cls; return e; };
  for (const [tag, ops] of Object.entries(byTag)) {
    main.append(el("h2", tag));
    for (const { path, method, op } of ops) {
      const box = el("section", "", "op");
      box.append(el("span", op["x-required-permission"] ?? "public", "perm"), el("span", method, "m"), ` +
  `el("code", path), el("p", op.summary));
      if (op.parameters.length) { const d = el("details"); ` +
  `d.append(el("summary", "parameters"), el("pre", JSON.stringify(op.parameters, null, 2))); box.append(d); }
      if (op.requestBody) { const d = el("details"); ` +
  `d.append(el("summary", "request body"), el("pre", JSON.stringify(op.requestBody.content, null, 2))); box.append(d); }
      const d = el("details"); ` +
  `d.append(el("summary", "responses"), el("pre", JSON.stringify(op.responses, null, 2))); box.append(d);
      main.append(box);
    }
  }
}).catch(error => { document.getElementById("ops").textContent = "Could not load the document: " + error; });
`;

const docsPage =
  `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Factor exposure API</title>
<style>${docsStyle}</style></head><body>
<h1>Factor exposure API</h1>
<p>All routes are under <code>/api/v1</code> and take <code>Authorization: Bearer &lt;JWT&gt;</code> ` +
  `except where marked public.
The machine-readable document is <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</p>
<main id="ops">Loading…</main>
<script>${docsScript}</script></body></html>`;
