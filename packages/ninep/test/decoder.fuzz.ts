import { it } from 'vitest';
import { onlyDecodeErrors, roundTrip } from './decoder-properties.js';

const frames = Number(process.env['NINEP_FUZZ_FRAMES'] ?? 1_000_000);

it(`decoder: ${frames} arbitrary and mutated frames give only DecodeError`, () => {
  const t0 = Date.now();
  onlyDecodeErrors(frames);
  console.log(
    `fuzz: ${frames} frames in ${((Date.now() - t0) / 1000).toFixed(1)} s, no exception other than DecodeError`,
  );
});

it('codec: 100,000 round trips', () => roundTrip(100_000));
