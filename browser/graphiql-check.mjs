// Opens the gateway's GraphiQL in Debian's Chromium with every non-loopback request aborted,
// types a paging query with real keystrokes, runs it, pages once more with the endCursor put
// into the variables editor, saves a screenshot, and prints one JSON report on stdout.
// With --mode fallback it only loads the page and reports the note shown without assets.
//
//   node graphiql-check.mjs --url http://127.0.0.1:8000/graphql --screenshot /tmp/graphiql.png [--mode run|fallback]
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";

const { values } = parseArgs({
  options: {
    url: { type: "string" },
    screenshot: { type: "string" },
    chromium: { type: "string", default: "/usr/bin/chromium" },
    timeout: { type: "string", default: "30000" },
    mode: { type: "string", default: "run" },
  },
});
if (!values.url || !values.screenshot) throw new Error("--url and --screenshot are required");
const timeout = Number(values.timeout);

// One line, no Enter: GraphiQL's autocomplete would take an Enter as a pick.
const QUERY =
  "query Page($after: String) { jobs(first: 12, after: $after) { edges { node { id source title status createdAt } } pageInfo { hasNextPage endCursor } } }";

const FLAGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

/** Loopback only: 127.0.0.0/8, localhost, [::1]. */
function isLoopback(url) {
  const { protocol, hostname } = new URL(url);
  if (protocol === "data:" || protocol === "blob:" || protocol === "about:") return true;
  return hostname === "localhost" || hostname === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

const started = Date.now();
const timings = {};
const mark = (name) => { timings[name] = Date.now() - started; };
const report = { timings, blocked: [], requests: [], failed: [], consoleErrors: [], pageErrors: [], pages: [], note: null };
const userDataDir = await mkdtemp(join(tmpdir(), "graphiql-chromium-"));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: values.chromium,
  headless: true,
  args: FLAGS,
  viewport: { width: 1400, height: 900 },
  timeout,
});
mark("launched");
try {
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (isLoopback(url)) return route.continue();
    report.blocked.push(url);
    return route.abort("blockedbyclient");
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(timeout);
  page.on("request", (request) => report.requests.push(request.url()));
  page.on("requestfailed", (request) => report.failed.push(`${request.url()} ${request.failure()?.errorText}`));
  page.on("console", (message) => message.type() === "error" && report.consoleErrors.push(message.text()));
  page.on("pageerror", (error) => report.pageErrors.push(String(error)));

  await page.goto(values.url, { waitUntil: "load" });
  await (values.mode === "fallback" ? showNote(page) : pageThroughJobs(page));
  await page.screenshot({ path: values.screenshot });
  mark("screenshot");
} finally {
  await context.close();
  await rm(userDataDir, { recursive: true, force: true });
}
console.log(JSON.stringify(report));

/** Without fetched assets: the page must say so, and how to fetch them. */
async function showNote(page) {
  report.note = await page.locator("#graphiql-note").innerText();
}

/** Types a paging query key by key, runs it, then runs it again from its endCursor. */
async function pageThroughJobs(page) {
  await page.locator(".graphiql-query-editor .CodeMirror").waitFor();
  mark("loaded");
  report.note = (await page.locator("#graphiql-note").count()) ? await page.locator("#graphiql-note").innerText() : null;

  await page.locator(".graphiql-query-editor .CodeMirror").click();
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Backspace");
  await page.keyboard.type(QUERY);
  await page.keyboard.press("Escape"); // close any autocomplete popup
  report.typed = await editorValue(page, ".graphiql-query-editor .CodeMirror");
  mark("typed");
  await page.getByRole("button", { name: /Prettify query/ }).click();
  // GraphiQL takes in an edit after a debounce (the run button would send a stale operation
  // name before): wait until it has stored the query, its last debounced step.
  await settled(page, ".graphiql-query-editor .CodeMirror", "graphiql:query");

  report.pages.push(await run(page));
  mark("first page");
  const cursor = report.pages[0].result?.data?.jobs?.pageInfo?.endCursor;
  if (!cursor) return;
  await page.getByRole("button", { name: "Variables" }).click();
  const variables = ".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror";
  await page.locator(variables).click();
  await page.keyboard.press("Control+A");
  await page.keyboard.press("Backspace");
  await page.keyboard.type('{"after": "'); // the closing quote and brace are auto-closed
  await page.keyboard.insertText(cursor); // pasted, as a person would
  await page.keyboard.press("Escape");
  report.variables = await editorValue(page, variables);
  await settled(page, variables, "graphiql:variables");
  report.pages.push(await run(page));
  mark("second page");
  report.visibleResult = await page.locator(".graphiql-response").innerText();
}

/** Runs the query with the play button and waits for a new answer in the result pane. */
async function run(page) {
  const before = await editorValue(page, ".graphiql-response .CodeMirror");
  await page.locator(".graphiql-execute-button").click();
  await page.waitForFunction(
    (previous) => {
      const text = document.querySelector(".graphiql-response .CodeMirror")?.CodeMirror?.getValue() ?? "";
      return text.trim().startsWith("{") && text !== previous;
    },
    before,
  );
  const text = await editorValue(page, ".graphiql-response .CodeMirror");
  return { result: JSON.parse(text) };
}

/** Waits until GraphiQL has stored an editor's text, the last of its debounced steps. */
function settled(page, selector, key) {
  return page.waitForFunction(
    ([selector, key]) => localStorage.getItem(key) === document.querySelector(selector).CodeMirror.getValue(),
    [selector, key],
  );
}

/** The whole text of a CodeMirror editor (it renders only the lines in view). */
function editorValue(page, selector) {
  return page.locator(selector).evaluate((element) => element.CodeMirror.getValue());
}
