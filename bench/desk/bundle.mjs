// Sizes of a built Desk: the initial JS (index.html's entry script + its modulepreload links)
// and all JS, raw and gzip level 6. Usage: node bench/desk/bundle.mjs <dist>
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const dist = process.argv[2];
const html = readFileSync(join(dist, "index.html"), "utf8");
const urls = [
  ...html.matchAll(/<script[^>]+type="module"[^>]+src="([^"]+)"/g),
  ...html.matchAll(/<link[^>]+rel="modulepreload"[^>]+href="([^"]+)"/g),
].map((m) => m[1].replace(/^\/desk\//, ""));

const size = (file) => {
  const bytes = readFileSync(join(dist, file));
  return { raw: bytes.length, gzip: gzipSync(bytes, { level: 6 }).length };
};
const kb = (n) => (n / 1024).toFixed(1);
let raw = 0;
let gzip = 0;
for (const u of urls) {
  const s = size(u);
  raw += s.raw;
  gzip += s.gzip;
  console.log(`  ${u.padEnd(48)} ${kb(s.raw).padStart(8)} KB raw ${kb(s.gzip).padStart(8)} KB gzip`);
}
console.log(`initial JS (${urls.length} files): ${kb(raw)} KB raw, gzip ${kb(gzip)} KB`);

const all = [];
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith(".js")) all.push(p);
  }
};
walk(dist);
let allGzip = 0;
for (const p of all) allGzip += gzipSync(readFileSync(p), { level: 6 }).length;
console.log(`all JS (${all.length} files, loaded on demand beyond the initial): gzip ${kb(allGzip)} KB`);
