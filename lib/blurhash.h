/*
 * blurhash.h - the BlurHash of a picture: a short ASCII string from which a
 * client paints a blurred likeness of the picture before the picture
 * itself has loaded (the thumbnail's placeholder, md-feed's "placeholder").
 *
 * What is computed, after the published algorithm:
 *
 *   - each pixel's R, G and B go from sRGB (0..255) to linear light;
 *   - for each of nx * ny cosine components (i across, j down) the mean
 *     over the picture of the linear colour times cos(pi i x / w) *
 *     cos(pi j y / h), doubled for every component but the first (DC);
 *   - the string is base 83 (the alphabet 0-9 A-Z a-z #$%*+,-.:;=?@[]^_{|}~,
 *     safe in JSON, HTML, URLs' paths and shells), most significant digit
 *     first: 1 digit (nx - 1) + (ny - 1) * 9; 1 digit the quantised
 *     largest magnitude M of the AC components, q = clamp(floor(166 M -
 *     0.5), 0, 82) (0 when there is no AC component), read back as
 *     (q + 1) / 166; 4 digits the DC component back in sRGB as 0xRRGGBB
 *     (each channel clamped to 0..1 and rounded); 2 digits per AC
 *     component in the order i first, then j: each channel c as
 *     clamp(floor(9 sign(c) sqrt(|c| / ((q + 1) / 166)) + 9.5), 0, 18),
 *     combined as R * 19^2 + G * 19 + B.
 *
 * So a hash is always 4 + 2 * nx * ny characters long (28 for the default
 * 4 x 3), its first character says nx and ny, and equal pixels give equal
 * strings: the encoder is a pure function of its input.
 */
#ifndef MD_BLURHASH_H
#define MD_BLURHASH_H

#include <stddef.h>
#include <stdint.h>

#define BLURHASH_NX 4           /* the default components across */
#define BLURHASH_NY 3           /* and down */
#define BLURHASH_MAX 9          /* at most this many each way */
/* the longest hash and its NUL: 9 x 9 components */
#define BLURHASH_SIZE (4 + 2 * BLURHASH_MAX * BLURHASH_MAX + 1)

/* The length of a hash of nx by ny components. */
#define BLURHASH_LEN(nx, ny) (4 + 2 * (nx) * (ny))

/*
 * The BlurHash of the w x h picture at px into out (BLURHASH_SIZE bytes
 * is always enough), NUL-terminated.  Pixels are bpp bytes each (3: RGB,
 * 4: RGBA, the alpha ignored), rows stride bytes apart (at least w * bpp),
 * top row first.  nx and ny are 1 to 9.
 *
 * Returns the hash's length, or -1 with errno EINVAL (a size or component
 * count out of range, bpp not 3 or 4, a stride too short) and out left
 * alone.  Allocates nothing; costs w * h * nx * ny cosines: meant for a
 * picture already scaled down (the thumbnail's placeholder is made from
 * 32 pixels across).
 */
int blurhash_encode(const uint8_t *px, int w, int h, size_t stride, int bpp, int nx, int ny,
		    char *out);

/*
 * Whether s is the shape of a BlurHash: only the base 83 alphabet, at
 * least 6 characters, the length its first character implies.  Returns 1
 * or 0; sets *nx and *ny (when not NULL) on 1.
 */
int blurhash_valid(const char *s, int *nx, int *ny);

#endif
