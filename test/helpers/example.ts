import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { seoulToday } from '../../lib/age.js'
import { buildExampleApp, type ExampleApp } from '../../example/app.js'
import { SESSION_COOKIE } from '../../example/session.js'

/** A pepper for tests (32+ characters, not the dev default). */
export const TEST_PEPPER = 'test-pepper-0123456789abcdef-0123456789'

/** The example listening on 127.0.0.1 with a users database in a fresh temp directory. */
export interface RunningExample extends ExampleApp {
  url: string
  databaseFile: string
}

/** Starts the example (sandbox mode unless `environment` gives credentials); closed and cleaned at teardown. */
export async function startExample (t: Test, environment: Record<string, unknown> = {}, options: Parameters<typeof buildExampleApp>[1] = {}): Promise<RunningExample> {
  const dir = await mkdtemp(join(tmpdir(), 'iamport-example-'))
  const databaseFile = join(dir, 'users.sqlite')
  const example = await buildExampleApp({ DATABASE_FILE: databaseFile, CI_PEPPER: TEST_PEPPER, ...environment }, options)
  t.teardown(async () => {
    await example.app.close()
    await rm(dir, { recursive: true, force: true })
  })
  const url = await example.app.listen({ host: '127.0.0.1', port: 0 })
  return { ...example, url, databaseFile }
}

/** A JSON answer: status and parsed body. */
export interface Answer {
  status: number
  body: any
  headers: Headers
}

/** A cookie-keeping HTTP client, like one browser tab, speaking the example's API generation. */
export class BrowserSession {
  cookie: string | undefined
  constructor (readonly baseUrl: string, readonly apiVersion: 'v1' | 'v2' = 'v1') {}

  async request (method: 'GET' | 'POST', path: string, json?: unknown): Promise<Answer> {
    const headers: Record<string, string> = {}
    if (this.cookie !== undefined) headers.cookie = this.cookie
    if (json !== undefined) headers['content-type'] = 'application/json'
    const response = await fetch(this.baseUrl + path, { method, headers, body: json === undefined ? undefined : JSON.stringify(json) })
    // The session cookie (the last one wins, as in a browser); any other cookie is not this jar's business.
    const setCookie = response.headers.getSetCookie().filter((cookie) => cookie.startsWith(`${SESSION_COOKIE}=`)).at(-1)
    if (setCookie !== undefined) this.cookie = setCookie.split(';')[0]
    const text = await response.text()
    let body: unknown = text
    try {
      body = JSON.parse(text)
    } catch {}
    return { status: response.status, body, headers: response.headers }
  }

  /** POST /certifications/prepare: the id this session may use (V1 `merchantUid`, V2 `identityVerificationId`). */
  async prepare (): Promise<string> {
    const answer = await this.request('POST', '/certifications/prepare')
    const issued: unknown = answer.body[this.apiVersion === 'v2' ? 'identityVerificationId' : 'merchantUid']
    if (answer.status !== 200 || typeof issued !== 'string') throw new Error(`prepare answered ${answer.status}`)
    return issued
  }

  /** POST /certifications with `{ imp_uid }` (V1) or `{ identityVerificationId }` (V2). */
  verify (id: string): Promise<Answer> {
    return this.request('POST', '/certifications', this.apiVersion === 'v2' ? { identityVerificationId: id } : { imp_uid: id })
  }
}

/** Someone the sandbox window could be given. */
export interface Person {
  name: string
  /** `YYYY-MM-DD`. */
  birthday: string
  gender?: 'male' | 'female'
  phone?: string
  carrier?: string
}

/** The CI the sandbox window derives for a person (SHA-512 of name, birthday and gender digit). */
export function sandboxCi (person: Person): string {
  const female = person.gender === 'female' ? 1 : 0
  const digit = (Number(person.birthday.slice(0, 4)) >= 2000 ? 3 : 1) + female
  return createHash('sha512').update(`ci|${person.name}|${person.birthday}|${digit}`).digest('base64')
}

/**
 * What the sandbox window does when the tester submits: seed a certified record through the fake's
 * unauthenticated endpoint. Extra fields override (e.g. `unique_key: null` for a PG that gave no CI).
 */
export async function seedVerification (fakeUrl: string, person: Person, merchantUid: string | undefined, extra: Record<string, unknown> = {}): Promise<string> {
  const body: Record<string, unknown> = {
    name: person.name,
    birthday: person.birthday,
    gender: person.gender ?? 'male',
    phone: person.phone ?? '01012345678',
    carrier: person.carrier ?? 'SKT',
    unique_key: sandboxCi(person),
    ...(merchantUid === undefined ? {} : { merchant_uid: merchantUid }),
    ...extra
  }
  const response = await fetch(`${fakeUrl}/__fake/certifications`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body)
  })
  if (response.status !== 201) throw new Error(`seeding answered ${response.status}`)
  return ((await response.json()) as { imp_uid: string }).imp_uid
}

/**
 * What the V2 sandbox window does when the tester submits: seed a VERIFIED identity verification
 * under the issued id through the fake's unauthenticated endpoint (the fake picks an id when
 * `identityVerificationId` is undefined). Returns the id the page posts.
 */
export async function seedIdentityVerification (fakeUrl: string, person: Person, identityVerificationId: string | undefined): Promise<string> {
  const female = person.gender === 'female'
  const body = {
    ...(identityVerificationId === undefined ? {} : { id: identityVerificationId }),
    verifiedCustomer: {
      name: person.name,
      birthDate: person.birthday,
      gender: female ? 'FEMALE' : 'MALE',
      phoneNumber: (person.phone ?? '01012345678').replace(/\D/g, ''),
      operator: (person.carrier ?? 'SKT').replace(/^LGT/, 'LGU'),
      isForeigner: false,
      ci: sandboxCi(person)
    }
  }
  const response = await fetch(`${fakeUrl}/__fake/identity-verifications`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body)
  })
  if (response.status !== 201) throw new Error(`seeding answered ${response.status}`)
  return ((await response.json()) as { id: string }).id
}

/** The sandbox window of the example's generation: seeds `person` under `issued` in its fake; the id the page posts. */
export function seedSandbox (example: ExampleApp, person: Person, issued: string | undefined): Promise<string> {
  if (example.sandboxV2 !== undefined) return seedIdentityVerification(example.sandboxV2.url, person, issued)
  if (example.sandbox !== undefined) return seedVerification(example.sandbox.url, person, issued)
  throw new Error('not in sandbox mode')
}

/** A birthday that makes someone `age` by the year basis (연 나이) this year in Seoul. */
export function birthdayForYearAge (age: number, monthDay = '06-15'): string {
  return `${seoulToday().year - age}-${monthDay}`
}

/** How a spawned `npm run example` ended. */
export interface ServerRun {
  code: number | null
  stdout: string
  stderr: string
}

/**
 * Runs `example/server.ts` the way `npm run example` does (the same node flags), with only
 * `environment` (plus PATH) as its environment, and waits for it to exit. For start-up failures:
 * a server that starts is killed after `timeoutMs` and reported with `code: null`.
 */
export function runExampleServer (environment: Record<string, string>, timeoutMs = 20_000): Promise<ServerRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--enable-source-maps', '--import', './example/register.mjs', 'example/server.ts'], {
      env: { PATH: process.env.PATH ?? '', ...environment },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}
