// htmlcheck opens HTML reports in headless Chromium with every network
// request refused and prints, as one JSON array with an object a page,
// what TestHTMLBrowser asserts: the requests each page attempted, its
// console messages and errors, the rows of its table of resets, the
// ladder of one RST, its load time; and it saves screenshots. It judges
// nothing itself.
//
//   node htmlcheck.js '{"chromium": "/usr/bin/chromium", "pages": [{"page": "/abs/report.html",
//     "rst": 30, "sort": true, "screenshot": "/abs/shot.png", "fullPage": true}]}'
const { chromium } = require("playwright-core");

async function check(context, arg) {
  const url = new URL("file://" + arg.page).href;
  const out = { requests: [], console: [], pageErrors: [] };
  const page = await context.newPage();
  // Every request but the page itself is refused, and noted.
  await page.route("**", (route) => {
    const u = route.request().url();
    if (u === url) return route.continue();
    out.requests.push(u);
    return route.abort();
  });
  page.on("request", (r) => { if (r.url() !== url && !out.requests.includes(r.url())) out.requests.push(r.url()); });
  page.on("console", (m) => out.console.push(m.type() + ": " + m.text()));
  page.on("pageerror", (e) => out.pageErrors.push(String(e)));

  await page.goto(url, { waitUntil: "load", timeout: 60000 });
  // From the start of the navigation to the end of the load event: what
  // the reader waits for, without the browser's own start.
  out.loadMs = await page.evaluate(() => performance.getEntriesByType("navigation")[0].loadEventEnd);
  // The elements the page holds once loaded: the work of laying it out,
  // counted, where a time would count the machine's load too.
  out.elements = await page.evaluate(() => document.getElementsByTagName("*").length);

  out.rows = await page.$$eval("table.resets tbody tr[data-frame]", (trs) =>
    trs.map((tr) => ({ frame: Number(tr.dataset.frame), cause: tr.dataset.cause, capture: tr.dataset.capture || "" })));
  if (arg.rst) {
    out.ladder = await page.evaluate((rst) => {
      const svg = document.querySelector('svg.ladder[data-rst="' + rst + '"]');
      if (!svg) return null;
      const g = svg.querySelector("g.rst");
      const box = g && g.getBoundingClientRect();
      return {
        rstFrame: g ? Number(g.dataset.pkt) : 0,
        rstText: g ? g.textContent : "",
        rstVisible: !!box && box.width > 0 && box.height > 0,
        packets: svg.querySelectorAll("g.pkt").length,
      };
    }, arg.rst);
  }
  if (arg.sort) {
    // Sorting by frame twice gives descending frame order.
    const th = page.locator("table.resets th", { hasText: "frame" }).locator("button");
    await th.click();
    await th.click();
    out.sortedFrames = await page.$$eval("table.resets tbody tr[data-frame]", (trs) => trs.map((tr) => Number(tr.dataset.frame)));
  }
  if (arg.screenshot) {
    await page.reload({ waitUntil: "load" }); // as it opens, unsorted
    await page.screenshot({ path: arg.screenshot, fullPage: !!arg.fullPage });
  }
  await page.close();
  return out;
}

(async () => {
  const arg = JSON.parse(process.argv[2]);
  const browser = await chromium.launch({
    executablePath: arg.chromium,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  const results = [];
  try {
    const context = await browser.newContext({ viewport: { width: 1200, height: 900 }, offline: true });
    for (const p of arg.pages) results.push(await check(context, p));
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(results) + "\n");
})().catch((e) => {
  process.stderr.write(String((e && e.stack) || e) + "\n");
  process.exit(1);
});
