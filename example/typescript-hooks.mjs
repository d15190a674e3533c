// Node module hooks that run this repository's TypeScript without a build step: Node 20 cannot
// strip types itself. Each .ts file of the repository (never node_modules) is transpiled on load
// with the project's own TypeScript; types are not checked here (`npm run typecheck` does that).
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

const compilerOptions = {
  module: ts.ModuleKind.ESNext,
  target: ts.ScriptTarget.ES2023,
  verbatimModuleSyntax: true,
  inlineSourceMap: true,
  inlineSources: true
}

function isRepositoryTypeScript (url) {
  return url.startsWith('file:') && url.endsWith('.ts') && !url.endsWith('.d.ts') && !url.includes('/node_modules/')
}

/** `./x.js` imports name the compiled file; here the .ts source beside it is what exists. */
export async function resolve (specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context)
  } catch (err) {
    const fromRepository = context.parentURL !== undefined && isRepositoryTypeScript(context.parentURL)
    if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !fromRepository || !/^\.{1,2}\/.*\.js$/.test(specifier)) throw err
    return nextResolve(specifier.slice(0, -3) + '.ts', context)
  }
}

export async function load (url, context, nextLoad) {
  if (!isRepositoryTypeScript(url)) return nextLoad(url, context)
  const filename = fileURLToPath(url)
  const source = await readFile(filename, 'utf8')
  const { outputText } = ts.transpileModule(source, { compilerOptions, fileName: filename })
  return { format: 'module', source: outputText, shortCircuit: true }
}
