// Renders every case of tests/status/golden/cases.json with shields' badge-maker and writes
// tests/status/golden/<name>.svg: the golden files status/badge.py must reproduce byte for byte.
//   cd bench/badge-maker && npm install && node make-golden.mjs
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { makeBadge } from 'badge-maker'

const here = dirname(fileURLToPath(import.meta.url))
const goldenDir = join(here, '..', '..', 'tests', 'status', 'golden')
const { cases } = JSON.parse(readFileSync(join(goldenDir, 'cases.json'), 'utf8'))

for (const { name, ...format } of cases) {
  writeFileSync(join(goldenDir, `${name}.svg`), makeBadge(format))
}
console.log(`${cases.length} golden badges written to ${goldenDir}`)
