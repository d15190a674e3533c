import t from 'tap'
import { DEFAULT_IMP_UID_PATTERN } from '../lib/constants.js'
import { compilePattern, idPathSegment } from '../lib/id-path-segment.js'

const imp = new RegExp(DEFAULT_IMP_UID_PATTERN)

t.test('accepts the observed form and returns it encoded', async (t) => {
  t.equal(idPathSegment('imp_448280090638', imp), 'imp_448280090638')
  t.equal(idPathSegment('imp.x', /^imp\.x$/), 'imp.x')
})

t.test('refuses path-walking and non-string input', async (t) => {
  const bad: unknown[] = ['..', '.', '../x', '%2e%2e', 'imp_1/..', 'imp_1?x=1', 'imp_1#x', 'imp_١٢٣٤٥٦',
    'imp_' + '1'.repeat(10_000), 123456, null, undefined, {}, ['imp_123456']]
  for (const value of bad) {
    t.throws(() => idPathSegment(value, imp), { code: 'FST_IAMPORT_INVALID_IMP_UID', statusCode: 400, message: 'The verification id is not of the expected form' })
  }
  t.throws(() => idPathSegment('..', /.*/), { code: 'FST_IAMPORT_INVALID_IMP_UID' })
})

t.test('patterns keep their flags except the stateful g and y', async (t) => {
  const pattern = compilePattern(/^IMP_[0-9]+$/giy)
  t.equal(pattern.flags, 'i')
  t.ok(pattern.test('imp_1') && pattern.test('imp_1'), 'the same id passes twice in a row')
  t.equal(compilePattern('^a$').source, '^a$')
})
