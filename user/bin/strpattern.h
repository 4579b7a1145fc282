/* The test data of the string-item tests (strcopy, strstream): word k of
 * stream `seed` (its bytes, little-endian, are bytes 8k..8k+7), so any
 * lost, duplicated or corrupted byte shows where it happened. */
#ifndef USER_BIN_STRPATTERN_H
#define USER_BIN_STRPATTERN_H

static inline unsigned long pattern_word(unsigned long seed, unsigned long k)
{
    unsigned long x = k * 0x9e3779b97f4a7c15UL + seed * 0xbf58476d1ce4e5b9UL;
    return x ^ (x >> 29);
}

/* byte i of stream `seed` */
static inline unsigned char pattern(unsigned long seed, unsigned long i)
{
    return (unsigned char)(pattern_word(seed, i >> 3) >> ((i & 7) * 8));
}
#endif
