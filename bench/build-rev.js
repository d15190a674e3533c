import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { fileURLToPath } from 'node:url'

/**
 * Compiles the package (index.ts and lib/) as it was at a git revision, once per commit, with the
 * working tree's tsconfig.build.json and node_modules, so that bench/run.js can load two versions
 * side by side in one run (BENCH_COMPARE_REV, BENCH_REV). The copy lives outside the repository
 * ($TMPDIR/fastify-iamport-bench/rev-<sha>/, with a node_modules link), so that neither tsc nor
 * eslint of the repository sees it. Returns the commit and the dist directory (trailing /).
 */

const repoRoot = fileURLToPath(new URL('../', import.meta.url))

export async function buildRevision (rev) {
  const git = (...args) => execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8' }).trim()
  const sha = git('rev-parse', '--verify', `${rev}^{commit}`)
  const root = `${tmpdir()}/fastify-iamport-bench/rev-${sha.slice(0, 12)}/`
  const dist = root + 'dist/'
  if (existsSync(dist + 'index.js')) return { sha, dist }
  await rm(root, { recursive: true, force: true })
  await mkdir(root + 'src', { recursive: true })
  await symlink(repoRoot + 'node_modules', root + 'node_modules', 'dir')
  await writeFile(root + 'package.json', JSON.stringify({ type: 'module', private: true }))
  execFileSync('sh', ['-c', `git archive ${sha} index.ts lib | tar -x -C "${root}src"`], { cwd: repoRoot, stdio: 'inherit' })
  await writeFile(root + 'src/tsconfig.json', JSON.stringify({
    extends: repoRoot + 'tsconfig.build.json',
    compilerOptions: { rootDir: '.', outDir: '../dist', declaration: false, declarationMap: false },
    include: ['index.ts', 'lib/**/*.ts'],
    exclude: []
  }))
  try {
    execFileSync(process.execPath, [repoRoot + 'node_modules/typescript/bin/tsc', '-p', root + 'src/tsconfig.json'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] })
  } catch (err) {
    // A commit in the middle of a series may not type-check while its JavaScript is complete:
    // tsc emits anyway, and the bench only runs that JavaScript.
    if (!existsSync(dist + 'index.js')) throw err
    console.error(`bench: ${rev} (${sha.slice(0, 12)}) has type errors; running the JavaScript tsc emitted anyway:\n` +
      String(err.stdout).split('\n').slice(0, 5).join('\n'))
  }
  return { sha, dist }
}
