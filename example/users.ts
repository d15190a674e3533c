import { createHmac } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { DuplicateError, MissingIdentityKeyError } from '../lib/errors.js'

/**
 * The example's accounts: one row per person in a SQLite file. The person is identified by
 * HMAC-SHA256(pepper, CI) under a UNIQUE index; the raw CI, the phone number and the birthday are
 * never stored (domain-and-security.md §2.5).
 */

/** A CI is 64 bytes in base64: 88 characters. Anything else is refused before any lookup. */
const CI_PATTERN = /^[A-Za-z0-9+/]{86}[A-Za-z0-9+/=]{2}$/

/** Shown when the provider gave no name (it always does for a real verification). */
const FALLBACK_DISPLAY_NAME = '회원'

const SCHEMA = `
CREATE TABLE IF NOT EXISTS users (
  id INTEGER PRIMARY KEY,
  ci_hmac TEXT NOT NULL,
  display_name TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS users_ci_hmac ON users (ci_hmac);
`

/** A newly created account. */
export interface RegisteredUser {
  id: number
  displayName: string
}

/** What registration reads from the verified Identity. */
export interface Registrant {
  ci: string | undefined
  name: string
}

/** The users table behind the example's policy hooks. */
export interface UserStore {
  /** Whether an account already exists for this CI. */
  existsForCi (ci: string | undefined): boolean
  /**
   * Creates the account in a transaction. Losing a race to a concurrent sign-up of the same person
   * (the UNIQUE index refuses the row) is a duplicate, exactly like `existsForCi` saying so.
   */
  register (person: Registrant): RegisteredUser
  /** Number of accounts. */
  count (): number
  close (): void
}

/**
 * The keyed hash the table stores. Fails closed: a missing or malformed CI never reaches a query
 * (a lookup with a missing key could match nothing, or the wrong row).
 */
export function ciKey (pepper: string, ci: string | undefined): string {
  if (ci === undefined || !CI_PATTERN.test(ci)) throw new MissingIdentityKeyError()
  return createHmac('sha256', pepper).update(ci, 'utf8').digest('base64url')
}

/** Opens (creating it when needed) the SQLite users database at `file`, in WAL mode. */
export function openUserStore (file: string, pepper: string): UserStore {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true })
  const db = new Database(file)
  try {
    db.pragma('journal_mode = WAL')
    db.pragma('busy_timeout = 5000')
    db.exec(SCHEMA)
  } catch (err) {
    db.close()
    throw err
  }

  const findByKey = db.prepare<[string]>('SELECT 1 FROM users WHERE ci_hmac = ?')
  const insert = db.prepare<[string, string, string]>('INSERT INTO users (ci_hmac, display_name, created_at) VALUES (?, ?, ?)')
  const countUsers = db.prepare<[]>('SELECT count(*) AS n FROM users')
  const insertUser = db.transaction((key: string, displayName: string): RegisteredUser => {
    const { lastInsertRowid } = insert.run(key, displayName, new Date().toISOString())
    return { id: Number(lastInsertRowid), displayName }
  })

  return {
    existsForCi (ci) {
      return findByKey.get(ciKey(pepper, ci)) !== undefined
    },
    register (person) {
      const key = ciKey(pepper, person.ci)
      const displayName = person.name.trim() === '' ? FALLBACK_DISPLAY_NAME : person.name.trim()
      try {
        return insertUser(key, displayName)
      } catch (err) {
        if ((err as { code?: unknown }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new DuplicateError()
        throw err
      }
    },
    count () {
      return (countUsers.get() as { n: number }).n
    },
    close () {
      if (db.open) db.close()
    }
  }
}
