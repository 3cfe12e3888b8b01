// Verifies a Justice Events export (docs/export-format.md) with nothing but Node's own crypto.
// Usage: node verify-export.mjs EXPORT.jsonl PUBLIC-KEY-FILE   (exit 0 "ok: …", exit 1 "record N: …" / "head: …")
import { readFileSync } from 'node:fs';
import { createHash, createPublicKey, verify } from 'node:crypto';

const [file, keyFile] = process.argv.slice(2);
const fail = (msg) => { console.log(msg); process.exit(1); };
const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(readFileSync(keyFile, 'utf8').trim(), 'base64')]);
const key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
const buf = readFileSync(file), lines = [];
for (let i = 0, j; i < buf.length; i = j + 1) { j = buf.indexOf(10, i); if (j < 0) j = buf.length; lines.push(buf.subarray(i, j)); }
const sha = (...parts) => createHash('sha256').update(Buffer.concat(parts)).digest();
const starts = (b, s) => b.subarray(0, s.length).toString() === s, ends = (b, s) => b.subarray(b.length - s.length).toString() === s;
let header; try { header = JSON.parse(lines[0]); } catch { header = {}; }
if (header.jevents_export !== 1) fail('header: the first line is not a jevents export header of format 1');
let h = sha(Buffer.from('jevents-export/1\n'), lines[0]), n = 0, prevSeq = 0;
for (let i = 1; i < lines.length; i++) {
  const l = lines[i];
  if (starts(l, '{"head":')) {
    const k = l.lastIndexOf(',"signature":"');
    if (k < 8 || !ends(l, '"}')) fail('head: the line is not a head');
    let head; const body = l.subarray(8, k), sig = Buffer.from(l.subarray(k + 14, l.length - 2).toString(), 'base64');
    try { head = JSON.parse(body); } catch { fail('head: it does not decode'); }
    if (head.records !== n || head.hash !== h.toString('hex')) fail(`head: it signs ${head.records} records ending in ${head.hash}; the file has ${n} ending in ${h.toString('hex')}`);
    if (sig.length !== 64 || !verify(null, body, key, sig)) fail('head: the signature does not verify with this public key');
    if (lines.slice(i + 1).some((x) => x.toString().trim() !== '')) fail('head: lines follow the head');
    console.log(`ok: ${n} records, head ${h.toString('hex')}`);
    process.exit(0);
  }
  n++;
  const k = l.lastIndexOf(',"hash":"');
  if (!starts(l, '{"record":') || !ends(l, '"}') || k < 10) fail(`record ${n}: the line is not a record`);
  const rec = l.subarray(10, k), next = sha(h, rec);
  if (l.subarray(k + 9, l.length - 2).toString() !== next.toString('hex')) fail(`record ${n}: its hash does not follow the chain`);
  let r; try { r = JSON.parse(rec); } catch { fail(`record ${n}: it does not decode`); }
  if (r.n !== n || !(r.seq > prevSeq)) fail(`record ${n}: it is record ${r.n} at sequence ${r.seq} after sequence ${prevSeq}`);
  h = next; prevSeq = r.seq;
}
fail(`head: the file ends after record ${n} without its signed head`);
