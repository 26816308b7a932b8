// Copies anafanafo's character-width tables (MIT) into status/ as JSON data, with their notice.
//   cd bench/badge-maker && npm install && node export-widths.cjs
'use strict'

const fs = require('fs')
const path = require('path')

const pkgDir = path.dirname(require.resolve('anafanafo/package.json'))
const pkg = require('anafanafo/package.json')
const notice = fs.readFileSync(path.join(pkgDir, 'LICENSE'), 'utf8')
const outDir = path.resolve(__dirname, '..', '..', 'status')

const tables = {
  '11px Verdana': 'verdana-11px-normal',
  '10px Verdana': 'verdana-10px-normal',
  'bold 10px Verdana': 'verdana-10px-bold',
  'bold 11px Helvetica': 'helvetica-11px-bold',
}

for (const [font, name] of Object.entries(tables)) {
  const ranges = require(`anafanafo/data/${name}.json`)
  const doc = {
    font,
    source: `anafanafo ${pkg.version}, data/${name}.json`,
    license: notice,
    ranges,
  }
  const out = path.join(outDir, `widths-${name}.json`)
  fs.writeFileSync(out, JSON.stringify(doc) + '\n')
  console.log(`${out}: ${ranges.length} ranges`)
}
