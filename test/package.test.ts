import t from 'tap'
import { execFile } from 'node:child_process'
import { copyFile, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)
const root = new URL('..', import.meta.url).pathname

// Packs the package as npm would publish it and installs the tarball in a fresh project: the
// ESM import, a CommonJS require and a TypeScript consumer must all work from what was packed.
t.test('the packed tarball works for ESM, CommonJS and TypeScript consumers', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'fastify-iamport-consumer-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await run('npm', ['pack', '--pack-destination', dir], { cwd: root })
  const tarball = (await readdir(dir)).find((name) => name.endsWith('.tgz'))
  t.ok(tarball, 'npm pack wrote a tarball')

  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }))
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', `./${tarball}`,
    'fastify@5', 'typescript@~6.0.3', '@types/node@20'], { cwd: dir })

  const esm = await run('node', ['--input-type=module', '-e',
    "import p, { fastifyIamport, IamportClient, UpstreamError } from 'fastify-iamport'; import { createFakeIamport } from 'fastify-iamport/testing';" +
    'console.log(JSON.stringify([typeof p, p === fastifyIamport, typeof IamportClient, typeof createFakeIamport, typeof UpstreamError]))'], { cwd: dir })
  t.same(JSON.parse(esm.stdout), ['function', true, 'function', 'function', 'function'])

  const cjs = await run('node', ['-e',
    "const m = require('fastify-iamport'); const k = require('fastify-iamport/testing'); console.log(JSON.stringify([typeof m.default, typeof m.IamportClient, typeof k.createFakeIamport]))"], { cwd: dir })
  t.same(JSON.parse(cjs.stdout), ['function', 'function', 'function'])

  await copyFile(join(root, 'test/fixtures/consumer/consumer.ts'), join(dir, 'consumer.ts'))
  await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'ES2023', strict: true, types: ['node'], rootDir: '.', outDir: 'out', skipLibCheck: true }
  }))
  await run('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: dir })
  const ts = await run('node', ['out/consumer.js'], { cwd: dir })
  t.same(JSON.parse(ts.stdout), { certified: true, token: 'string' })
})
