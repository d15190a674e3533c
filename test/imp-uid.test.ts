import t from 'tap'
import { impUidPathSegment } from '../lib/imp-uid.js'

t.test('accepts the observed form and returns it encoded', async (t) => {
  t.equal(impUidPathSegment('imp_448280090638'), 'imp_448280090638')
  t.equal(impUidPathSegment('imp.x', /^imp\.x$/), 'imp.x')
})

t.test('refuses path-walking and non-string input', async (t) => {
  const bad: unknown[] = ['..', '.', '../x', '%2e%2e', 'imp_1/..', 'imp_1?x=1', 'imp_1#x', 'imp_١٢٣٤٥٦',
    'imp_' + '1'.repeat(10_000), 123456, null, undefined, {}, ['imp_123456']]
  for (const value of bad) {
    t.throws(() => impUidPathSegment(value), { code: 'FST_IAMPORT_INVALID_IMP_UID', statusCode: 400 })
  }
  t.throws(() => impUidPathSegment('..', /.*/), { code: 'FST_IAMPORT_INVALID_IMP_UID' })
})
