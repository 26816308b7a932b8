// The baseline of bench/bench_badges.py: a minimal node http server that renders every request
// with shields' badge-maker (label, message, color and style from the query string).
//   node server.mjs PORT
import { createServer } from 'node:http'
import { makeBadge } from 'badge-maker'

const port = Number(process.argv[2] || 8081)

createServer((req, res) => {
  const query = new URL(req.url, 'http://localhost').searchParams
  const svg = makeBadge({
    label: query.get('label') ?? 'data',
    message: query.get('message') ?? 'ready',
    color: query.get('color') ?? 'brightgreen',
    style: query.get('style') ?? 'flat',
  })
  res.writeHead(200, {
    'content-type': 'image/svg+xml;charset=utf-8',
    'cache-control': 'no-cache',
    'content-length': Buffer.byteLength(svg),
  })
  res.end(svg)
}).listen(port, '127.0.0.1', () => console.log(`badge-maker server on http://127.0.0.1:${port}`))
