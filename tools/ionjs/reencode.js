// Reads Ion files (binary or text) with ion-js, an implementation independent of
// amazon.ion, and writes each one's values as text Ion to OUTPUT_DIR/<index>.ion.
// Usage: node reencode.js OUTPUT_DIR FILE...
// Used by tests/test_ion_js.py.
const ion = require("ion-js");
const fs = require("fs");
const path = require("path");

const [outDir, ...files] = process.argv.slice(2);
files.forEach((file, index) => {
  const reader = ion.makeReader(fs.readFileSync(file));
  const writer = ion.makeTextWriter();
  writer.writeValues(reader);
  writer.close();
  fs.writeFileSync(path.join(outDir, `${index}.ion`), Buffer.from(writer.getBytes()));
});
