// The peer of the load harness (bench/load/sessions.sh): tamin's general inquiry written the
// way the Node ecosystem writes a USSD service, on ussd-menu-builder with express, answering
// Africa's Talking form posts on POST /ussd/africastalking.
//
//   node bench/peer/server.js PORT TAMIN_CODES_TSV
//
// The same three screens as daftar's menus/tamin.toml (first screen, '2' asks for the code,
// the code gives covered / not covered and a tracking code), the same Persian words. The
// lookup is in an in-memory Map of the same generated codes (tamin_codes.tsv, written by
// examples/load_sample.rs from the feed daftar's store was synced from): no store, no audit
// trail, no rules beyond "coverage status is active". That is kinder to the peer than daftar's
// work, on purpose: it is the floor of what the peer costs.
//
// A UssdMenu keeps the request's args and input on the instance while its promise chain runs,
// so one shared instance would mix up concurrent requests: each request gets its own menu, as
// the library's concurrency requires.
"use strict";

const fs = require("fs");
const express = require("express");
const UssdMenu = require("ussd-menu-builder");

const port = Number(process.argv[2] || 18070);
const codesFile = process.argv[3];

function loadCodes(path) {
  const covered = new Map();
  for (const line of fs.readFileSync(path, "utf8").split("\n")) {
    const tab = line.indexOf("\t");
    if (tab > 0) covered.set(line.slice(0, tab), line.slice(tab + 1) === "active");
  }
  return covered;
}

const covered = loadCodes(codesFile);
let tracking = 0;

function menuFor() {
  const menu = new UssdMenu();
  menu.startState({
    run: () =>
      menu.con(
        "تامین اجتماعی\n۱. استحقاق\n۲. استعلام عمومی\n۳. تحت تکفل\n۹. English"
      ),
    next: { "2": "general" },
  });
  menu.state("general", {
    run: () => menu.con("کد ملی یا شماره اتباع را وارد کنید:"),
    next: { "*^\\d{10,12}$": "general.answer" },
  });
  menu.state("general.answer", {
    run: () => {
      tracking += 1;
      const code = "T" + tracking.toString(36).toUpperCase().padStart(8, "0");
      menu.end(
        covered.get(menu.val)
          ? `حمایت درمانی دارد.\nکد پیگیری: ${code}`
          : `حمایت درمانی ندارد.\nکد پیگیری: ${code}`
      );
    },
  });
  return menu;
}

const app = express();
app.use(express.urlencoded({ extended: false }));
app.post("/ussd/africastalking", (req, res) => {
  const menu = menuFor();
  // An input no route takes (or any other failure) ends the session with a clear answer.
  menu.on("error", () => res.type("text/plain").send("END ورودی نامعتبر است."));
  menu.run(req.body, (reply) => res.type("text/plain").send(reply));
});
app.get("/readyz", (req, res) => res.send("ready"));
app.listen(port, "127.0.0.1", () =>
  console.error(`peer listening on 127.0.0.1:${port}, ${covered.size} codes`)
);
