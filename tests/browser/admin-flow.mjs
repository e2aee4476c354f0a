// The admin panel and the public site in a real browser, as people use them: an author writes
// a post on a phone, previews it and submits it for review; an editor publishes it from a
// desktop; readers find it on the home page, read it on a desktop and a phone, and in the Atom
// feed. Run by tests/it/browser.rs against a real Tribune server; usable by hand too:
//
//   TRIBUNE_BASE_URL=http://localhost:8080 TRIBUNE_AUTHOR=alex TRIBUNE_AUTHOR_PASSWORD=… \
//   TRIBUNE_EDITOR=sam TRIBUNE_EDITOR_PASSWORD=… node tests/browser/admin-flow.mjs
//
// Optional: TRIBUNE_CHROMIUM (default /usr/bin/chromium: Debian's chromium package; Playwright
// never downloads a browser here), TRIBUNE_SCREENSHOT_DIR (default: a new temp dir).
//
// Progress goes to stderr. Stdout gets exactly one JSON line: {"ok":true,…} and exit 0, or
// {"ok":false,"step":…,"error":…} and exit 1 (with screenshots of the pages as they were).

import { mkdirSync, mkdtempSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const started = Date.now();
const env = process.env;

function required(name) {
  const value = env[name];
  if (!value) fail("arguments", `the environment variable ${name} is required`);
  return value;
}

let currentStep = "start";
const steps = [];
const screenshots = [];
const problems = []; // script errors and CSP violations seen in any page
let browser = null;
const openPages = new Map(); // name → page, for screenshots on failure

function log(message) {
  process.stderr.write(`admin-flow: ${message}\n`);
}

function print(result) {
  process.stdout.write(JSON.stringify(result) + "\n");
}

function fail(step, error) {
  print({ ok: false, step, error: String(error), steps, screenshots, problems });
  process.exit(1);
}

const base = required("TRIBUNE_BASE_URL").replace(/\/$/, "");
const author = { username: required("TRIBUNE_AUTHOR"), password: required("TRIBUNE_AUTHOR_PASSWORD") };
const editor = { username: required("TRIBUNE_EDITOR"), password: required("TRIBUNE_EDITOR_PASSWORD") };
const executablePath = env.TRIBUNE_CHROMIUM || "/usr/bin/chromium";
if (!existsSync(executablePath)) {
  fail(
    "chromium",
    `Chromium is not installed at ${executablePath}: install Debian's package ` +
      "(apt-get install chromium), or set TRIBUNE_CHROMIUM to a Chromium binary",
  );
}
const shotDir = env.TRIBUNE_SCREENSHOT_DIR || mkdtempSync(join(tmpdir(), "tribune-browser-"));
mkdirSync(shotDir, { recursive: true });

// What the author writes: a title, a paragraph with bold and a link, a hashtag.
const post = {
  title: "Appel à la grève du 12 mars",
  body:
    "Nous appelons à la **grève générale** le 12 mars, dans tous les services.\n\n" +
    "Lisez [notre appel complet](https://example.org/appel) et partagez-le avec #solidarité.",
  bold: "grève générale",
  linkText: "notre appel complet",
  linkHref: "https://example.org/appel",
  hashtag: "solidarité",
};

async function step(name, body) {
  currentStep = name;
  const t0 = Date.now();
  await body();
  steps.push({ step: name, ms: Date.now() - t0 });
  log(`ok - ${name} (${Date.now() - t0} ms)`);
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

function equal(actual, expected, what) {
  check(actual === expected, `${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

async function text(page, selector) {
  const locator = page.locator(selector);
  const count = await locator.count();
  check(count > 0, `nothing matches ${selector} on ${page.url()}`);
  return (await locator.first().innerText()).trim();
}

/// A screenshot of the whole page, or of one element of it.
async function shoot(page, name, selector = null) {
  const path = join(shotDir, `${name}.png`);
  if (selector) {
    await page.locator(selector).screenshot({ path });
  } else {
    await page.screenshot({ path, fullPage: true });
  }
  screenshots.push(path);
  return path;
}

/// A page must fit its viewport: no sideways scrolling (the usual phone-layout bug).
async function fitsWidth(page, what) {
  const { scroll, width } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    width: window.innerWidth,
  }));
  check(scroll <= width, `${what} is wider than the ${width}px viewport (${scroll}px): it scrolls sideways`);
}

async function newPage(context, name) {
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.setDefaultNavigationTimeout(20_000);
  page.on("pageerror", (error) => problems.push(`${name}: script error on ${page.url()}: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error" && /Content Security Policy|Refused to/i.test(message.text())) {
      problems.push(`${name}: ${message.text()}`);
    }
  });
  openPages.set(name, page);
  return page;
}

async function login(page, who) {
  await page.goto(`${base}/admin`);
  check(
    new URL(page.url()).pathname === "/admin/login",
    `/admin should send a logged-out visitor to the login form, but the browser is on ${page.url()}`,
  );
  equal(await page.getAttribute("html", "lang"), "fr", "the login page's language (French by default)");
  equal(await text(page, "h1"), "Connexion", "the login page's heading");
  await page.getByLabel("Nom d’utilisateur").fill(who.username);
  await page.getByLabel("Mot de passe").fill(who.password);
  await Promise.all([
    page.waitForURL((url) => url.pathname === "/admin", { waitUntil: "load" }),
    page.getByRole("button", { name: "Se connecter" }).click(),
  ]);
  equal(await text(page, "h1"), "Tableau de bord", `${who.username}'s dashboard heading`);
  equal(await text(page, "header.bar .who"), who.username, "the member's name in the menu bar");
}

async function logout(page, who) {
  await Promise.all([
    page.waitForURL((url) => url.pathname === "/admin/login", { waitUntil: "load" }),
    page.getByRole("button", { name: "Se déconnecter" }).click(),
  ]);
  check(
    (await text(page, ".notice")).includes("déconnecté"),
    `no "logged out" notice after ${who.username} logged out`,
  );
  const response = await page.goto(`${base}/admin`);
  check(
    new URL(page.url()).pathname === "/admin/login" && response.ok(),
    `after logging out, /admin should lead to the login form, not ${page.url()}`,
  );
}

let publicId = null;
let postUrl = null;

async function main() {
  await step("launch Chromium", async () => {
    browser = await chromium.launch({
      executablePath,
      headless: true,
      // Playwright adds a fresh, temporary --user-data-dir of its own.
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    log(`Chromium ${browser.version()} from ${executablePath}`);
  });

  // The author, on a phone whose browser asks for German: the panel falls back to French.
  const phone = {
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
  };
  const authorContext = await browser.newContext({ ...phone, locale: "de-DE" });
  const authorPage = await newPage(authorContext, "author");

  await step("author logs in (French interface by default)", () => login(authorPage, author));

  await step("author opens the compose form", async () => {
    await fitsWidth(authorPage, "the dashboard on a phone");
    await shoot(authorPage, "0-author-dashboard-phone");
    await Promise.all([
      authorPage.waitForURL((url) => url.pathname === "/admin/posts/new"),
      authorPage.getByRole("link", { name: "Écrire", exact: true }).click(),
    ]);
    equal(await text(authorPage, "h1"), "Nouvelle publication", "the compose form's heading");
    check(
      await authorPage.getByRole("button", { name: "Publier maintenant" }).count() === 0,
      "an author must not be offered “Publier maintenant”",
    );
  });

  await step("author writes the post in Markdown", async () => {
    await authorPage.getByLabel("Titre").fill(post.title);
    await authorPage.getByLabel("Texte", { exact: true }).fill(post.body);
    equal(await authorPage.locator("#f-language").inputValue(), "fr", "the default language of a post");
    await fitsWidth(authorPage, "the compose form on a phone");
    await shoot(authorPage, "1-author-compose-phone", "#post-form");
  });

  await step("the live preview (JavaScript) renders while typing", async () => {
    const live = authorPage.locator("#preview .preview-site article strong");
    await live.waitFor({ state: "visible" });
    equal((await live.innerText()).trim(), post.bold, "the live preview's bold text");
  });

  await step("author clicks Preview: the page and Mastodon previews", async () => {
    await Promise.all([
      authorPage.waitForEvent("load"),
      authorPage.getByRole("button", { name: "Aperçu", exact: true }).click(),
    ]);
    const site = authorPage.locator("section.preview-site");
    const mastodon = authorPage.locator("section.preview-mastodon");
    await site.waitFor({ state: "visible" });
    await mastodon.waitFor({ state: "visible" });
    equal(await text(authorPage, ".preview-site article h1"), post.title, "the page preview's title");
    equal(await text(authorPage, ".preview-site article strong"), post.bold, "the page preview's bold text");
    equal(
      await authorPage.locator(".preview-site article a", { hasText: post.linkText }).getAttribute("href"),
      post.linkHref,
      "the page preview's link",
    );
    check(
      (await text(authorPage, ".preview-site article")).includes(`#${post.hashtag}`),
      "the page preview shows the hashtag",
    );
    equal(
      await authorPage.locator(".preview-mastodon .toot").getAttribute("data-kind"),
      "Article",
      "a post with a title is an Article for Mastodon",
    );
    check(
      (await text(authorPage, ".preview-mastodon .toot-content")).includes(post.title),
      "the Mastodon preview shows the title",
    );
    equal(await authorPage.locator("#f-body").inputValue(), post.body, "the text is kept after the preview");
    await fitsWidth(authorPage, "the compose form with its preview, on a phone");
    await shoot(authorPage, "2-author-preview-phone", "#preview");
  });

  await step("author submits the post for review", async () => {
    await Promise.all([
      authorPage.waitForURL((url) => url.searchParams.get("done") === "submitted", { waitUntil: "load" }),
      authorPage.getByRole("button", { name: "Proposer à la relecture" }).click(),
    ]);
    const match = new URL(authorPage.url()).pathname.match(/^\/admin\/posts\/([^/]+)\/edit$/);
    check(match, `after submitting, expected the post's edit page, got ${authorPage.url()}`);
    publicId = match[1];
    postUrl = `${base}/posts/${publicId}`;
    check((await text(authorPage, ".notice")).includes("Proposé à la relecture"), "the “submitted” notice");
    equal(await text(authorPage, ".post-meta .status"), "En relecture", "the post's status");
  });

  await step("author logs out", () => logout(authorPage, author));

  await step("the post is not public while in review", async () => {
    const response = await authorContext.request.get(postUrl, { headers: { Accept: "text/html" } });
    equal(response.status(), 404, `GET ${postUrl} before publication`);
  });
  await authorContext.close();
  openPages.delete("author");

  // The editor, on a desktop browser in French.
  const editorContext = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "fr-FR" });
  const editorPage = await newPage(editorContext, "editor");

  await step("editor logs in", () => login(editorPage, editor));

  await step("editor finds the post awaiting review on the dashboard", async () => {
    equal(await text(editorPage, "#awaiting-title"), "À relire", "the dashboard's review section");
    const section = editorPage.locator("section", { has: editorPage.locator("#awaiting-title") });
    const link = section.getByRole("link", { name: post.title });
    check(await link.count() === 1, `“${post.title}” is not in the dashboard's “À relire” list`);
    await shoot(editorPage, "3-editor-dashboard-desktop");
    await Promise.all([
      editorPage.waitForURL((url) => url.pathname === `/admin/posts/${publicId}/edit`),
      link.click(),
    ]);
    equal(await text(editorPage, ".post-meta .status"), "En relecture", "the post's status");
    check((await text(editorPage, ".post-meta")).includes(`par ${author.username}`), "the author on the edit page");
    equal(await editorPage.locator("#f-title").inputValue(), post.title, "the title in the edit form");
  });

  await step("editor publishes it", async () => {
    await Promise.all([
      editorPage.waitForURL((url) => url.searchParams.get("done") === "published", { waitUntil: "load" }),
      editorPage.getByRole("button", { name: "Publier maintenant" }).click(),
    ]);
    check((await text(editorPage, ".notice")).includes("Publié !"), "the “published” notice");
    equal(await text(editorPage, ".post-meta .status"), "Publiée", "the post's status");
    equal(
      await editorPage.getByRole("link", { name: "Voir la page publique" }).getAttribute("href"),
      postUrl,
      "the link to the public page",
    );
  });
  await editorContext.close();
  openPages.delete("editor");

  // A reader, on a desktop, not logged in.
  const readerContext = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "fr-FR" });
  const reader = await newPage(readerContext, "reader");

  await step("reader finds the post on the home page", async () => {
    await reader.goto(`${base}/`);
    const card = reader.locator("article.card", { has: reader.locator(".card-title", { hasText: post.title }) });
    check(await card.count() === 1, `“${post.title}” is not on the home page`);
    check((await card.locator(".byline").innerText()).includes(author.username), "the author on the home page card");
    await fitsWidth(reader, "the home page on a desktop");
    await shoot(reader, "4-home-desktop");
    await Promise.all([
      reader.waitForURL(postUrl),
      card.locator(".card-title a").click(),
    ]);
  });

  async function checkPostPage(page, what) {
    equal(await text(page, "article.post h1"), post.title, `${what}: the title`);
    equal(await text(page, "article.post .post-body strong"), post.bold, `${what}: the bold text`);
    equal(
      await page.locator("article.post .post-body a", { hasText: post.linkText }).getAttribute("href"),
      post.linkHref,
      `${what}: the link`,
    );
    const credit = page.locator("article.post .byline a").first();
    equal((await credit.innerText()).trim(), author.username, `${what}: the author credit`);
    equal(await credit.getAttribute("href"), `${base}/members/${author.username}`, `${what}: the author's page`);
    check(
      (await text(page, "article.post .byline")).startsWith("Par "),
      `${what}: the byline reads “Par …”`,
    );
    check(
      (await page.locator("article.post ul.tags a[rel=tag]").allInnerTexts()).includes(`#${post.hashtag}`),
      `${what}: the hashtag #${post.hashtag} among the tags`,
    );
  }

  await step("reader reads the post page (desktop)", async () => {
    await checkPostPage(reader, "post page");
    await fitsWidth(reader, "the post page on a desktop");
    await shoot(reader, "5-post-desktop");
  });

  await step("the Atom feed has the post", async () => {
    const response = await readerContext.request.get(`${base}/feed.atom`);
    equal(response.status(), 200, "GET /feed.atom");
    check(
      (response.headers()["content-type"] || "").startsWith("application/atom+xml"),
      `/feed.atom content type: ${response.headers()["content-type"]}`,
    );
    const xml = await response.text();
    // Parsed by the browser's own XML parser.
    const entry = await reader.evaluate(
      ({ xml, postUrl }) => {
        const doc = new DOMParser().parseFromString(xml, "application/xml");
        if (doc.querySelector("parsererror")) return { error: doc.querySelector("parsererror").textContent };
        const entries = Array.from(doc.getElementsByTagName("entry"));
        const found = entries.find((e) =>
          Array.from(e.getElementsByTagName("link")).some((l) => l.getAttribute("href") === postUrl),
        );
        if (!found) return { error: `no entry links to ${postUrl} among ${entries.length}` };
        const one = (name) => found.getElementsByTagName(name)[0]?.textContent ?? null;
        return { title: one("title"), author: one("name"), content: one("content") };
      },
      { xml, postUrl },
    );
    check(!entry.error, `/feed.atom: ${entry.error}`);
    equal(entry.title, post.title, "the feed entry's title");
    equal(entry.author, author.username, "the feed entry's author");
    check(
      (entry.content || "").includes(`<strong>${post.bold}</strong>`),
      `the feed entry's content has the bold text: ${entry.content}`,
    );
  });
  await readerContext.close();
  openPages.delete("reader");

  // The same post page on a phone.
  const phoneContext = await browser.newContext({ ...phone, locale: "fr-FR" });
  const phoneReader = await newPage(phoneContext, "phone reader");
  await step("reader reads the post page (phone)", async () => {
    await phoneReader.goto(postUrl);
    await checkPostPage(phoneReader, "post page on a phone");
    await fitsWidth(phoneReader, "the post page on a phone");
    await shoot(phoneReader, "6-post-phone");
    await phoneReader.goto(`${base}/`);
    await fitsWidth(phoneReader, "the home page on a phone");
    await shoot(phoneReader, "7-home-phone");
  });
  await phoneContext.close();
  openPages.delete("phone reader");

  check(problems.length === 0, `the pages had problems:\n${problems.join("\n")}`);
}

try {
  await main();
  await browser.close();
  log(`screenshots in ${shotDir}`);
  print({
    ok: true,
    publicId,
    postUrl,
    title: post.title,
    steps,
    screenshots,
    screenshotDir: shotDir,
    chromium: browser.version(),
    ms: Date.now() - started,
  });
} catch (error) {
  for (const [name, page] of openPages) {
    try {
      const path = join(shotDir, `failure-${name.replace(/\W+/g, "-")}.png`);
      await page.screenshot({ path, fullPage: true });
      screenshots.push(path);
    } catch {
      // the page may be gone
    }
  }
  if (browser) await browser.close().catch(() => {});
  log(`FAILED at “${currentStep}”: ${error.message}`);
  fail(currentStep, error.message);
}
