// Every ```ts snippet of the README compiles as written, under strict and
// exactOptionalPropertyTypes (as in @tsconfig/strictest), against the package's declarations
// as a consumer sees them (built here from the sources).
// Names a snippet uses but leaves to the reader (`app`, `users`, `hmac`...) are declared for it.
import t from 'tap'
import { execFile } from 'node:child_process'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)
const root = new URL('..', import.meta.url).pathname
const dir = join(root, 'test', '.readme-snippets')

/** What the reader brings: declared only where a snippet does not define the name itself. */
const placeholders: Record<string, string> = {
  fastifyIamport: "import fastifyIamport from 'fastify-iamport'",
  app: "declare const app: import('fastify').FastifyInstance",
  users: 'declare const users: { findByCiHash (hash: string): Promise<unknown>, create (user: { name: string, ciHash: string }): Promise<{ id: string }> }',
  hmac: 'declare function hmac (value: string): string',
  apiKey: 'declare const apiKey: string',
  apiSecret: 'declare const apiSecret: string',
  v2Secret: 'declare const v2Secret: string',
  sessionIdOf: "declare function sessionIdOf (request: import('fastify').FastifyRequest): string",
  findDuplicate: "declare const findDuplicate: (identity: import('fastify-iamport').Identity) => Promise<boolean>",
  onVerified: "declare const onVerified: (identity: import('fastify-iamport').Identity) => Promise<object>",
  hooks: "declare const hooks: import('fastify-iamport').CertificationsOptions"
}

t.test('the README TypeScript snippets compile under strictest settings', async (t) => {
  const readme = await readFile(join(root, 'README.md'), 'utf8')
  const snippets = [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((match) => match[1]!)
  t.ok(snippets.length >= 8, `${snippets.length} snippets`)
  await rm(dir, { recursive: true, force: true })
  await mkdir(dir, { recursive: true })
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const tsc = join(root, 'node_modules/.bin/tsc')
  await run(tsc, ['-p', join(root, 'tsconfig.build.json'), '--emitDeclarationOnly', '--declarationMap', 'false', '--outDir', join(dir, 'types')])
  const files: string[] = []
  for (const [index, snippet] of snippets.entries()) {
    const defines = (name: string): boolean => new RegExp(`(?:import[^\\n]*\\b${name}\\b|(?:const|let|function) ${name}\\b)`).test(snippet)
    const prelude = Object.entries(placeholders)
      .filter(([name]) => new RegExp(`\\b${name}\\b`).test(snippet) && !defines(name))
      .map(([, declaration]) => declaration)
    const file = `snippet-${index}.ts`
    files.push(file)
    await writeFile(join(dir, file), [...prelude, snippet, 'export {}'].join('\n'))
  }
  await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'ES2023',
      module: 'nodenext',
      moduleResolution: 'nodenext',
      strict: true,
      exactOptionalPropertyTypes: true,
      noUncheckedIndexedAccess: true,
      noEmit: true,
      skipLibCheck: true,
      types: ['node'],
      rootDir: '.',
      paths: { 'fastify-iamport': ['./types/index.d.ts'], 'fastify-iamport/testing': ['./types/lib/testing/index.d.ts'] }
    },
    files
  }))
  const result = await run(tsc, ['-p', join(dir, 'tsconfig.json')]).then(
    () => ({ code: 0, output: '' }),
    (err: { code: number, stdout: string }) => ({ code: err.code, output: err.stdout }))
  t.same(result, { code: 0, output: '' }, 'tsc found no error')
})
