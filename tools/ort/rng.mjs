// Seeded randomness shared by the input generators, so random inputs are the
// same on every machine and every run.

// mulberry32: a tiny seeded PRNG returning floats in [0, 1).
export function make_rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Uniform pixel noise as a packed RGB image { width, height, rgb: Uint8Array }.
export function random_image(width, height, seed) {
  const rand = make_rng(seed);
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < rgb.length; ++i) rgb[i] = Math.floor(rand() * 256);
  return { width, height, rgb };
}
