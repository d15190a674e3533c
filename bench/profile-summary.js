import { readFile, readdir } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { markdownTable } from './harness.js'

/**
 * `node bench/profile-summary.js [file.cpuprofile ...]`: self time of a `--cpu-prof` profile
 * (default: every profile in bench/results/profiles), by package and by function, with the
 * package's own functions (dist/index.js, dist/lib/**) listed apart. Make profiles with
 * `BENCH_PROFILE=plugin BENCH_LATENCIES=0 BENCH_CANDIDATES=plugin BENCH_ROUNDS=1 npm run bench`.
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

async function summarize (file) {
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
  const busy = total - idle
  const share = (micros) => ((100 * micros) / busy).toFixed(1) + ' %'
  const top = (map, filter = () => true) => [...map].filter(([key]) => filter(key)).sort((a, b) => b[1] - a[1]).slice(0, TOP)
  const isOwn = (key) => /(?:^| )(?:lib\/[^ ]+|index)\.ts(?::|$)/.test(key)
  return [
    `## ${file}`,
    '',
    `Busy ${(busy / 1e6).toFixed(2)} s of ${(total / 1e6).toFixed(2)} s sampled; shares are of busy time. ` +
      'Lines are of the compiled dist/ file.',
    '',
    markdownTable(['where', 'self time'], top(byPlace).map(([place, micros]) => [place, share(micros)])),
    '',
    markdownTable(['function (all)', 'self time'], top(byFunction).map(([key, micros]) => [key, share(micros)])),
    '',
    markdownTable(['function (this package)', 'self time'], top(byFunction, isOwn).map(([key, micros]) => [key, share(micros)])),
    ''
  ].join('\n')
}

const files = process.argv.length > 2
  ? process.argv.slice(2)
  : (await readdir(profileDir)).filter((name) => name.endsWith('.cpuprofile')).map((name) => profileDir + name)
if (files.length === 0) throw new Error('no .cpuprofile given or found in bench/results/profiles')
for (const file of files) console.log(await summarize(file))
