import t, { type Test } from 'tap'
import { spawn, execFile, type ChildProcessByStdio } from 'node:child_process'
import { EventEmitter, once } from 'node:events'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { connect, createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { promisify } from 'node:util'
import { main, parseArguments, publicUrl, USAGE } from '../lib/testing/fake-cli.js'

const root = new URL('..', import.meta.url).pathname

/** The printed `name: value` lines as an object. */
function fields (output: string): Record<string, string> {
  return Object.fromEntries([...output.matchAll(/^([A-Za-z ]+): (.+)$/gm)].map((match) => [match[1]!, match[2]!]))
}

/** Checks a V1 fake at `url` serves with the printed credentials: getToken, a seeded certification, the sandbox window. */
async function checkV1 (t: Test, url: string, apiKey: string, apiSecret: string): Promise<void> {
  const token = await fetch(`${url}/users/getToken`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ imp_key: apiKey, imp_secret: apiSecret })
  })
  t.equal(token.status, 200, 'getToken with the printed credentials')
  const accessToken = ((await token.json()) as { response: { access_token: string } }).response.access_token
  const seeded = await fetch(`${url}/__fake/certifications`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"김하늘"}' })
  t.equal(seeded.status, 201, 'seeded over HTTP')
  const { imp_uid: impUid } = await seeded.json() as { imp_uid: string }
  const certification = await fetch(`${url}/certifications/${impUid}`, { headers: { authorization: accessToken } })
  t.match(await certification.json(), { code: 0, response: { imp_uid: impUid, name: '김하늘', certified: true } }, 'and served to the token')
  const wrong = await fetch(`${url}/users/getToken`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ imp_key: apiKey, imp_secret: 'wrong' }) })
  t.equal(wrong.status, 401, 'another secret is refused')
  const window = await fetch(`${url}/sandbox/certification?merchant_uid=mid_1`)
  t.equal(window.status, 200)
  t.match(await window.text(), /<form id="certification"/, 'the sandbox window')
}

/** Same for V2: a seeded identity verification read with the printed secret and store. */
async function checkV2 (t: Test, url: string, apiSecret: string, storeId: string): Promise<void> {
  const seeded = await fetch(`${url}/__fake/identity-verifications`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"id":"iv-cli-1"}' })
  t.equal(seeded.status, 201, 'seeded over HTTP')
  const read = await fetch(`${url}/identity-verifications/iv-cli-1?storeId=${encodeURIComponent(storeId)}`, { headers: { authorization: `PortOne ${apiSecret}` } })
  t.equal(read.status, 200, 'read with the printed secret and store')
  t.match(await read.json(), { id: 'iv-cli-1', status: 'VERIFIED' })
  const otherStore = await fetch(`${url}/identity-verifications/iv-cli-1?storeId=store-other`, { headers: { authorization: `PortOne ${apiSecret}` } })
  t.equal(otherStore.status, 403, 'another store is refused')
  const window = await fetch(`${url}/sandbox/identity-verification?identityVerificationId=iv-cli-2`)
  t.equal(window.status, 200, 'the sandbox window')
}

/** A stand-in for `process`: collected output and signals the test sends. */
function fakeProcess () {
  const signals = new EventEmitter()
  let stdout = ''
  let stderr = ''
  let printed: () => void = () => {}
  const ready = new Promise<void>((resolve) => { printed = resolve })
  return {
    proc: {
      stdout: { write: (text: string) => { stdout += text; if (stdout.includes('Ctrl-C')) printed() } },
      stderr: { write: (text: string) => { stderr += text } },
      once: (signal: 'SIGINT' | 'SIGTERM', listener: () => void) => signals.once(signal, listener),
      off: (signal: 'SIGINT' | 'SIGTERM', listener: () => void) => signals.off(signal, listener)
    },
    signals,
    ready,
    stdout: () => stdout,
    stderr: () => stderr
  }
}

async function refused (url: string): Promise<boolean> {
  return fetch(url).then(() => false, () => true)
}

t.test('parseArguments', async (t) => {
  t.same(parseArguments([]), { v2: false, port: 0, host: '127.0.0.1' }, 'V1, a free port, loopback only')
  t.same(parseArguments(['--v2', '--port', '4010', '--host', '0.0.0.0']), { v2: true, port: 4010, host: '0.0.0.0' })
  t.same(parseArguments(['--port=65535']), { v2: false, port: 65535, host: '127.0.0.1' })
  t.same(parseArguments(['--api-key', 'k', '--api-secret', 's']), { v2: false, port: 0, host: '127.0.0.1', apiKey: 'k', apiSecret: 's' })
  t.same(parseArguments(['--v2', '--api-secret', 's', '--store-id', 'store-1']), { v2: true, port: 0, host: '127.0.0.1', apiSecret: 's', storeId: 'store-1' })
  t.same(parseArguments(['--v2', '--otp', '654321']), { v2: true, port: 0, host: '127.0.0.1', otp: '654321' }, 'a fixed SMS code')
  t.same(parseArguments(['--otp', '12']), { error: '--otp must be 4 to 8 digits' })
  t.equal(parseArguments(['--help']), 'help')
  t.equal(parseArguments(['-h']), 'help')
  const bad: Array<[string[], RegExp]> = [
    [['--port', 'abc'], /--port must be a port number/],
    [['--port', '65536'], /--port must be a port number/],
    [['--port', '-1'], /argument is ambiguous/],
    [['--port=-1'], /--port must be a port number/],
    [['--port', '1e3'], /--port must be a port number/],
    [['--port'], /argument missing/],
    [['--host', ''], /--host must not be empty/],
    [['--api-secret='], /--api-secret must not be empty/],
    [['--v2', '--api-key', 'k'], /--api-key is for the V1 fake/],
    [['--store-id', 's'], /--store-id is for the V2 fake/],
    [['--v3'], /Unknown option '--v3'/],
    [['serve'], /positional argument/],
    [['--v2=yes'], /does not take an argument/]
  ]
  for (const [argv, message] of bad) {
    const result = parseArguments(argv)
    t.match(result, { error: message }, argv.join(' '))
  }
})

t.test('publicUrl: a wildcard host is reached on loopback, an IPv6 address in brackets', async (t) => {
  t.equal(publicUrl('127.0.0.1', 4010), 'http://127.0.0.1:4010')
  t.equal(publicUrl('0.0.0.0', 4010), 'http://127.0.0.1:4010')
  t.equal(publicUrl('::', 4010), 'http://127.0.0.1:4010')
  t.equal(publicUrl('::1', 4010), 'http://[::1]:4010')
  t.equal(publicUrl('localhost', 4010), 'http://localhost:4010')
})

t.test('main: bad arguments print why and the usage line, and exit 2; --help prints it and exits 0', async (t) => {
  const bad = fakeProcess()
  t.equal(await main(['--port', 'x'], bad.proc), 2)
  t.equal(bad.stderr(), `fastify-iamport-fake: --port must be a port number (0-65535), not 'x'\n${USAGE}\n`)
  t.equal(bad.stdout(), '')
  const help = fakeProcess()
  t.equal(await main(['--help'], help.proc), 0)
  t.equal(help.stdout(), `${USAGE}\n`)
})

t.test('main, V1: prints the URL and credentials, serves them, closes on SIGTERM with 0', async (t) => {
  const run = fakeProcess()
  const exit = main(['--port', '0'], run.proc)
  await run.ready
  const printed = fields(run.stdout())
  t.match(printed.url, /^http:\/\/127\.0\.0\.1:\d+$/)
  t.match(printed.apiKey, /^fake_key_/)
  t.equal(printed['sandbox window'], `${printed.url}/sandbox/certification?merchant_uid=<merchant_uid>`)
  t.equal(printed.seed, `POST ${printed.url}/__fake/certifications`)
  await checkV1(t, printed.url!, printed.apiKey!, printed.apiSecret!)

  // A client that resets its connection takes only that connection down.
  const port = Number(new URL(printed.url!).port)
  const socket = connect(port, '127.0.0.1')
  await once(socket, 'connect')
  socket.write('GET /users/getToken HTTP/1.1\r\nhost: x\r\n')
  socket.resetAndDestroy()
  await once(socket, 'close')
  const idle = connect(port, '127.0.0.1')
  await once(idle, 'connect')

  t.equal(run.signals.listenerCount('SIGTERM'), 1)
  run.signals.emit('SIGTERM')
  t.equal(await exit, 0)
  await once(idle, 'close')
  t.pass('an open connection is closed too')
  t.ok(await refused(printed.url!), 'nothing listens any more')
  t.equal(run.signals.listenerCount('SIGINT') + run.signals.listenerCount('SIGTERM'), 0, 'its signal listeners are gone')
  t.equal(run.stderr(), '')
})

t.test('main, V2 with fixed credentials: prints and serves them, closes on SIGINT with 0', async (t) => {
  const run = fakeProcess()
  const exit = main(['--v2', '--api-secret', 'cli-secret', '--store-id', 'store-cli', '--otp', '654321'], run.proc)
  await run.ready
  const printed = fields(run.stdout())
  t.match(run.stdout(), /PortOne V2/)
  t.match(run.stdout(), /^SMS code \(every send\): 654321$/m, 'the SMS code a front end types')
  t.equal(printed.apiSecret, 'cli-secret')
  t.equal(printed.storeId, 'store-cli')
  t.equal(printed['sandbox window'], `${printed.url}/sandbox/identity-verification?identityVerificationId=<id>`)
  t.equal(printed.seed, `POST ${printed.url}/__fake/identity-verifications`)
  await checkV2(t, printed.url!, 'cli-secret', 'store-cli')
  run.signals.emit('SIGINT')
  t.equal(await exit, 0)
  t.ok(await refused(printed.url!))
})

t.test('main: a busy port is one line on stderr and exit 1', async (t) => {
  const busy = createServer()
  busy.listen(0, '127.0.0.1')
  await once(busy, 'listening')
  t.teardown(() => { busy.close() })
  const { port } = busy.address() as AddressInfo
  const run = fakeProcess()
  t.equal(await main(['--port', String(port)], run.proc), 1)
  t.match(run.stderr(), new RegExp(`^fastify-iamport-fake: cannot start: listen EADDRINUSE: address already in use 127\\.0\\.0\\.1:${port}\n$`))
  t.equal(run.stdout(), '')
})

type Child = ChildProcessByStdio<null, Readable, Readable>

/** Spawns the bin and waits for its banner; the child is killed at teardown if still running. */
async function spawnCli (t: Test, args: string[]): Promise<{ child: Child, output: string }> {
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  let output = ''
  let errors = ''
  child.stderr.on('data', (chunk: Buffer) => { errors += String(chunk) })
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += String(chunk)
      if (output.includes('Ctrl-C')) resolve()
    })
    child.once('exit', (code) => { reject(new Error(`exited with ${String(code)} before serving: ${errors}`)) })
  })
  return { child, output }
}

async function stop (child: Child, signal: NodeJS.Signals): Promise<{ code: number | null, signal: NodeJS.Signals | null }> {
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
  child.kill(signal)
  const [code, by] = await exited
  return { code, signal: by }
}

const TS_CLI = ['--import', './example/register.mjs', 'lib/testing/cli.ts']

t.test('the bin, spawned: V1 starts, serves, and exits 0 on SIGTERM', async (t) => {
  const { child, output } = await spawnCli(t, [...TS_CLI, '--port', '0'])
  const printed = fields(output)
  await checkV1(t, printed.url!, printed.apiKey!, printed.apiSecret!)
  t.same(await stop(child, 'SIGTERM'), { code: 0, signal: null })
  t.ok(await refused(printed.url!))
})

t.test('the bin, spawned: --v2 starts, serves, and exits 0 on SIGINT', async (t) => {
  const { child, output } = await spawnCli(t, [...TS_CLI, '--v2'])
  const printed = fields(output)
  await checkV2(t, printed.url!, printed.apiSecret!, printed.storeId!)
  t.same(await stop(child, 'SIGINT'), { code: 0, signal: null })
})

t.test('the bin, spawned: bad arguments exit 2 with the usage line', async (t) => {
  const child = spawn(process.execPath, [...TS_CLI, '--port', 'many'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  let errors = ''
  child.stderr.on('data', (chunk: Buffer) => { errors += String(chunk) })
  const [code] = await once(child, 'exit') as [number]
  t.equal(code, 2)
  t.match(errors, USAGE)
})

// What the package ships: the compiled bin runs with plain node, no TypeScript hooks.
t.test('the compiled bin (dist/lib/testing/cli.js) starts with its shebang and stops on SIGTERM', async (t) => {
  const out = await mkdtemp(join(tmpdir(), 'fastify-iamport-cli-'))
  t.teardown(() => rm(out, { recursive: true, force: true }))
  // Emit only: the type check is `npm run typecheck`'s, not this test's.
  await promisify(execFile)(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json'),
    '--outDir', out, '--noCheck', '--declaration', 'false', '--declarationMap', 'false', '--sourceMap', 'false'])
  const bin = join(out, 'lib/testing/cli.js')
  t.equal((await readFile(bin, 'utf8')).split('\n')[0], '#!/usr/bin/env node', 'the shebang is the first line')
  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { bin?: Record<string, string> }
  t.same(pkg.bin, { 'fastify-iamport-fake': './dist/lib/testing/cli.js' }, 'package.json names it')
  const { child, output } = await spawnCli(t, [bin, '--port', '0'])
  const printed = fields(output)
  await checkV1(t, printed.url!, printed.apiKey!, printed.apiSecret!)
  t.same(await stop(child, 'SIGTERM'), { code: 0, signal: null })
})
