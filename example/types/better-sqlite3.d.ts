// The part of better-sqlite3 12's API the example uses (the package ships no types and
// @types/better-sqlite3 is not a dependency of this repository).
declare module 'better-sqlite3' {
  namespace BetterSqlite3 {
    interface RunResult {
      changes: number
      lastInsertRowid: number | bigint
    }

    interface Statement<Params extends unknown[] = unknown[]> {
      run (...params: Params): RunResult
      get (...params: Params): unknown
      all (...params: Params): unknown[]
    }

    interface Options {
      readonly?: boolean
      fileMustExist?: boolean
      timeout?: number
    }

    interface Database {
      readonly open: boolean
      readonly name: string
      prepare<Params extends unknown[] = unknown[]> (sql: string): Statement<Params>
      exec (sql: string): this
      pragma (source: string, options?: { simple?: boolean }): unknown
      transaction<Args extends unknown[], Result> (fn: (...args: Args) => Result): (...args: Args) => Result
      close (): this
    }

    /** What better-sqlite3 throws: `code` is SQLite's extended result code, e.g. `SQLITE_CONSTRAINT_UNIQUE`. */
    interface SqliteError extends Error {
      code: string
    }
  }

  interface DatabaseConstructor {
    new (filename: string, options?: BetterSqlite3.Options): BetterSqlite3.Database
    (filename: string, options?: BetterSqlite3.Options): BetterSqlite3.Database
    SqliteError: new (message: string, code: string) => BetterSqlite3.SqliteError
  }

  const Database: DatabaseConstructor
  namespace Database {
    type Database = BetterSqlite3.Database
    type Statement<Params extends unknown[] = unknown[]> = BetterSqlite3.Statement<Params>
    type SqliteError = BetterSqlite3.SqliteError
  }
  export = Database
}
