import { existsSync } from 'node:fs'
import { readFile, readdir } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { markdownTable } from './harness.js'

/**
 * `node bench/profile-summary.js [file.cpuprofile ...]`: self time of a `--cpu-prof` profile
 * (default: every profile in bench/results/profiles), by package and by function, with the
 * package's own functions (dist/index.js, dist/lib/**) listed apart. Where bench/run.js left the
 * operation count beside a profile (`<name>.json`), self time is also shown in µs per operation.
 *
 * `node bench/profile-summary.js --diff A.cpuprofile B.cpuprofile`: both profiles in µs per
 * operation, by package and by function, sorted by how much more A spends than B: where the
 * plugin's CPU per verification goes beyond the hand-written route's.
 *
 * Make profiles with `BENCH_PROFILE=v1-plugin,v1-hand BENCH_CANDIDATES=v1-plugin,v1-hand
 * BENCH_LATENCIES=0 BENCH_ROUNDS=1 npm run bench`. A profile covers the candidate's whole life:
 * start-up (module compilation) too, spread over the operations.
 */

const TOP = Number(process.env.BENCH_PROFILE_TOP ?? 15)
const profileDir = fileURLToPath(new URL('./results/profiles/', import.meta.url))

/** Where a function lives: this package's source file, a dependency, Node itself, or V8. */
function placeOf (url) {
  if (url === '') return 'V8 / native'
  const own = /\/dist\/((?:lib\/)?[^/]+(?:\/[^/]+)*)\.js$/.exec(url)
  if (own !== null && !url.includes('/node_modules/')) return own[1] + '.ts'
  const dependency = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)
  if (dependency !== null) return dependency[1]
  if (url.startsWith('node:')) return 'node core'
  return url.replace(/^file:\/\//, '')
}

const isOwn = (key) => /(?:^| )(?:lib\/[^ ]+|index)\.ts(?::|$)/.test(key)

/** Self time (µs) by place and by function, busy and idle time, and the operations served if known. */
async function load (file) {
  const profile = JSON.parse(await readFile(file, 'utf8'))
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const selfMicros = new Map()
  for (let i = 0; i < profile.samples.length; i++) {
    selfMicros.set(profile.samples[i], (selfMicros.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i] ?? 0))
  }
  let total = 0
  let idle = 0
  const byPlace = new Map()
  const byFunction = new Map()
  for (const [id, micros] of selfMicros) {
    const { callFrame } = byId.get(id)
    total += micros
    if (callFrame.functionName === '(idle)') {
      idle += micros
      continue
    }
    const place = placeOf(callFrame.url)
    byPlace.set(place, (byPlace.get(place) ?? 0) + micros)
    const key = `${callFrame.functionName || '(anonymous)'} ${place}:${callFrame.lineNumber + 1}`
    byFunction.set(key, (byFunction.get(key) ?? 0) + micros)
  }
  const sidecar = file.replace(/\.cpuprofile$/, '.json')
  const operations = existsSync(sidecar) ? JSON.parse(await readFile(sidecar, 'utf8')).operations : undefined
  return { file, byPlace, byFunction, busy: total - idle, total, operations }
}

const top = (map, filter = () => true) => [...map].filter(([key]) => filter(key)).sort((a, b) => b[1] - a[1]).slice(0, TOP)

function summarize (p) {
  const share = (micros) => ((100 * micros) / p.busy).toFixed(1) + ' %'
  const perOp = (micros) => p.operations ? (micros / p.operations).toFixed(2) : 'n/a'
  const cells = ([key, micros]) => [key, share(micros), perOp(micros)]
  const header = (what) => [what, 'self time', 'µs / operation']
  return [
    `## ${p.file}`,
    '',
    `Busy ${(p.busy / 1e6).toFixed(2)} s of ${(p.total / 1e6).toFixed(2)} s sampled` +
      (p.operations ? `, ${p.operations} operations: ${(p.busy / p.operations).toFixed(1)} µs busy each` : '') +
      '; shares are of busy time. Lines are of the compiled dist/ file.',
    '',
    markdownTable(header('where'), top(p.byPlace).map(cells)),
    '',
    markdownTable(header('function (all)'), top(p.byFunction).map(cells)),
    '',
    markdownTable(header('function (this package)'), top(p.byFunction, isOwn).map(cells)),
    ''
  ].join('\n')
}

function diff (a, b) {
  if (!a.operations || !b.operations) throw new Error('--diff needs the operation counts bench/run.js writes beside its profiles')
  const rows = (mapA, mapB) => {
    const keys = new Set([...mapA.keys(), ...mapB.keys()])
    return [...keys].map((key) => {
      const ua = (mapA.get(key) ?? 0) / a.operations
      const ub = (mapB.get(key) ?? 0) / b.operations
      return [key, ua, ub, ua - ub]
    }).sort((x, y) => Math.abs(y[3]) - Math.abs(x[3])).slice(0, TOP)
      .map(([key, ua, ub, d]) => [key, ua.toFixed(2), ub.toFixed(2), (d >= 0 ? '+' : '') + d.toFixed(2)])
  }
  const header = (what) => [what, 'A µs / op', 'B µs / op', 'A - B']
  return [
    `## A = ${a.file}`,
    `## B = ${b.file}`,
    '',
    `Busy per operation: A ${(a.busy / a.operations).toFixed(1)} µs (${a.operations} operations), ` +
      `B ${(b.busy / b.operations).toFixed(1)} µs (${b.operations}). Sorted by the size of the difference.`,
    '',
    markdownTable(header('where'), rows(a.byPlace, b.byPlace)),
    '',
    markdownTable(header('function'), rows(a.byFunction, b.byFunction)),
    ''
  ].join('\n')
}

const args = process.argv.slice(2)
if (args[0] === '--diff') {
  if (args.length !== 3) throw new Error('usage: node bench/profile-summary.js --diff A.cpuprofile B.cpuprofile')
  console.log(diff(await load(args[1]), await load(args[2])))
} else {
  const files = args.length > 0
    ? args
    : (await readdir(profileDir)).filter((name) => name.endsWith('.cpuprofile')).map((name) => profileDir + name)
  if (files.length === 0) throw new Error('no .cpuprofile given or found in bench/results/profiles')
  for (const file of files) console.log(summarize(await load(file)))
}
