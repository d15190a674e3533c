// Every test counts toward the coverage of the package's own code (index.ts and lib/), never
// toward test helpers, the example or the benchmarks.
import { readdirSync } from 'node:fs'
import { join } from 'node:path'

function walk (dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return walk(path)
    return path.endsWith('.ts') && !path.endsWith('.d.ts') ? [path] : []
  })
}

const covered = ['index.ts', ...walk('lib')]

export default () => covered
