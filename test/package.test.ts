import t from 'tap'
import { execFile } from 'node:child_process'
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)
const root = new URL('..', import.meta.url).pathname
const tsc = join(root, 'node_modules/typescript/bin/tsc')
const attw = join(root, 'node_modules/@arethetypeswrong/cli/dist/index.js')

// A pack, three installs and four tsc runs: about 40 s alone, well past .taprc's 120 s on a busy
// 2-core machine. This root-level call tells the runner this file's own limit.
t.setTimeout(300_000)

// The fastify a host may already have: two 5.x releases a host may have pinned, and the
// newest 5.x. The package declares fastify as a peer, so each host must keep its own, only one.
// The strictest compile runs on one host only: with skipLibCheck it checks the consumer's use of
// this package's types, which are the same on every host.
// The newest host also uses typebox 1.x with @fastify/type-provider-typebox 6, as the current
// Fastify docs do, and compiles consumer-schemas.ts with it.
const hosts = [
  { name: 'fastify-5.2.0', spec: 'fastify@5.2.0', version: /^5\.2\.0$/, strictest: false, extra: [] },
  { name: 'fastify-5.6.2', spec: 'fastify@5.6.2', version: /^5\.6\.2$/, strictest: false, extra: [] },
  { name: 'fastify-5-latest', spec: 'fastify@5', version: /^5\./, strictest: true, extra: ['typebox@1', '@fastify/type-provider-typebox@6'] }
]

// tsc settings a strict host uses, and the extra ones of @tsconfig/strictest.
const strict = {
  module: 'nodenext', moduleResolution: 'nodenext', target: 'ES2023', types: ['node'], rootDir: '.', outDir: 'out', strict: true, skipLibCheck: false
}
const strictest = {
  ...strict,
  noEmit: true,
  allowUnusedLabels: false,
  allowUnreachableCode: false,
  exactOptionalPropertyTypes: true,
  noFallthroughCasesInSwitch: true,
  noImplicitOverride: true,
  noImplicitReturns: true,
  noPropertyAccessFromIndexSignature: true,
  noUncheckedIndexedAccess: true,
  noUnusedLocals: true,
  noUnusedParameters: true,
  isolatedModules: true,
  checkJs: true,
  esModuleInterop: true,
  forceConsistentCasingInFileNames: true,
  skipLibCheck: true
}

async function filesUnder (dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true })
  const nested = await Promise.all(entries.map((entry) => {
    const path = join(dir, entry.name)
    return entry.isDirectory() ? filesUnder(path) : [path]
  }))
  return nested.flat()
}

async function exists (path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false)
}

/** A fresh project with the tarball, the host's fastify and @types/node installed. */
async function installConsumer (base: string, tarball: string, name: string, fastify: string, extra: string[]): Promise<string> {
  const dir = join(base, name)
  await mkdir(dir)
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }))
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', join(base, tarball), fastify, '@types/node@20', ...extra], { cwd: dir })
  await copyFile(join(root, 'test/fixtures/consumer/consumer.ts'), join(dir, 'consumer.ts'))
  if (extra.length > 0) await copyFile(join(root, 'test/fixtures/consumer/consumer-schemas.ts'), join(dir, 'consumer-schemas.ts'))
  await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: strict }))
  await writeFile(join(dir, 'tsconfig.strictest.json'), JSON.stringify({ compilerOptions: strictest }))
  return dir
}

// Packs the package as npm would publish it, checks its types with attw, and installs the tarball
// into one fresh project per host fastify version: the ESM import, a CommonJS require and a strict
// TypeScript consumer must all work from what was packed, with the host's fastify untouched.
t.test('the packed tarball', async (t) => {
  const base = await mkdtemp(join(tmpdir(), 'fastify-iamport-consumer-'))
  t.teardown(() => rm(base, { recursive: true, force: true }))
  await run('npm', ['pack', '--pack-destination', base], { cwd: root })
  const tarball = (await readdir(base)).find((name) => name.endsWith('.tgz'))
  if (tarball === undefined) throw new Error('npm pack wrote no tarball')

  // Installs from the registry cache run side by side; the checks below run one host at a time.
  const installs = Promise.all(hosts.map((host) => installConsumer(base, tarball, host.name, host.spec, host.extra)))
  installs.catch(() => {})

  // ESM only: a require() of it works on Node >= 20.19 (the engines floor), so attw's rule that a
  // require resolving to ESM is an error does not apply; every other rule, node10 included, does.
  t.test('attw finds no problem in the types', async (t) => {
    const checked = await run(process.execPath, [attw, join(base, tarball), '--ignore-rules', 'cjs-resolves-to-esm', '--no-color', '--no-emoji'])
      .catch((err: { stdout?: string }) => ({ stdout: `attw failed:\n${err.stdout ?? String(err)}` }))
    t.ok(checked.stdout.includes('No problems found'), 'attw: no problems', { report: checked.stdout })
  })

  const dirs = await installs
  for (const [i, host] of hosts.entries()) {
    const dir = dirs[i] as string
    t.test(`a host on ${host.spec}`, async (t) => {
      const { stdout: listed } = await run('npm', ['ls', 'fastify', '--all', '--parseable'], { cwd: dir })
      const copies = listed.split('\n').filter((line) => line.endsWith('/node_modules/fastify'))
      t.same(copies, [join(dir, 'node_modules/fastify')], 'exactly one fastify, the host\'s')
      const installed = JSON.parse(await readFile(join(dir, 'node_modules/fastify/package.json'), 'utf8')) as { version: string }
      t.match(installed.version, host.version, `the host keeps its fastify (${host.spec}): ${installed.version}`)

      const esm = await run('node', ['--input-type=module', '-e',
        "import p, { fastifyIamport, IamportClient, UpstreamError } from 'fastify-iamport'; import { createFakeIamport } from 'fastify-iamport/testing';" +
        'console.log(JSON.stringify([typeof p, p === fastifyIamport, typeof IamportClient, typeof createFakeIamport, typeof UpstreamError]))'], { cwd: dir })
      t.same(JSON.parse(esm.stdout), ['function', true, 'function', 'function', 'function'], 'ESM import')

      const cjs = await run('node', ['-e',
        "const m = require('fastify-iamport'); const k = require('fastify-iamport/testing'); console.log(JSON.stringify([typeof m.default, typeof m.IamportClient, typeof k.createFakeIamport]))"], { cwd: dir })
      t.same(JSON.parse(cjs.stdout), ['function', 'function', 'function'], 'CommonJS require')

      await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: dir })
      const ts = await run('node', ['out/consumer.js'], { cwd: dir })
      t.same(JSON.parse(ts.stdout), { certified: true, token: 'string' }, 'strict TypeScript consumer compiles and runs')

      if (host.extra.length > 0) t.pass('typebox 1.x and plain JSON schemas compile as verifiedResponseSchema (consumer-schemas.ts)')
      if (host.strictest) {
        await run(process.execPath, [tsc, '-p', 'tsconfig.strictest.json'], { cwd: dir })
        t.pass('the consumers compile under @tsconfig/strictest (exactOptionalPropertyTypes)')
      }
    })
  }

  // Source and declaration maps point into the shipped .ts sources, so a host's debugger and
  // go-to-definition land on the package's code.
  t.test('ships its licence, security policy and the sources its maps name, and no tests', async (t) => {
    const pkg = join(dirs[0] as string, 'node_modules/fastify-iamport')
    const files = (await filesUnder(pkg)).map((path) => relative(pkg, path))
    t.ok(files.includes('LICENSE'), 'LICENSE')
    t.ok(files.includes('SECURITY.md'), 'SECURITY.md')
    t.notOk(files.some((file) => file.startsWith('test/') || file.startsWith('dist/test/')), 'no tests')
    const maps = files.filter((file) => file.endsWith('.js.map') || file.endsWith('.d.ts.map'))
    t.ok(maps.includes('dist/index.d.ts.map') && maps.includes('dist/index.js.map'), 'declaration and source maps')
    const missing: string[] = []
    for (const map of maps) {
      const { sources } = JSON.parse(await readFile(join(pkg, map), 'utf8')) as { sources: string[] }
      for (const source of sources) {
        const path = join(pkg, dirname(map), source)
        if (!await exists(path)) missing.push(`${map} -> ${source}`)
      }
    }
    t.same(missing, [], 'every map source is in the tarball')
  })
})
