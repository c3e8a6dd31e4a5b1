// play.js URL - open URL (play.html beside an HLS master) in headless
// Chromium, run its playTest() and print what it resolved with, as JSON.
// NODE_PATH names the folder holding playwright-core; CHROMIUM the browser.
"use strict";
const { chromium } = require("playwright-core");

(async () => {
	const browser = await chromium.launch({
		executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
		args: ["--no-sandbox", "--autoplay-policy=no-user-gesture-required", "--mute-audio"],
	});
	try {
		const page = await browser.newPage();
		page.on("console", (m) => process.stderr.write("console: " + m.text() + "\n"));
		await page.goto(process.argv[2]);
		let timer;
		const limit = new Promise((resolve) => {
			timer = setTimeout(() => resolve({ error: "no playback within 40 s" }), 40000);
		});
		const r = await Promise.race([page.evaluate(() => window.playTest()), limit]);
		clearTimeout(timer);
		process.stdout.write(JSON.stringify(r) + "\n");
	} finally {
		await browser.close();
	}
})().catch((e) => {
	process.stdout.write(JSON.stringify({ error: String(e) }) + "\n");
	process.exit(1);
});
