/* SPDX-License-Identifier: GPL-2.0-only */
#include "steer/community_id.h"

#include <netinet/in.h>
#include <string.h>

#include <openssl/evp.h>

static const uint8_t v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* Put the endpoint that sorts lower (address, then port, unsigned, network order) first. */
static bool ordered(const uint8_t *a, uint16_t aport, const uint8_t *b, uint16_t bport, size_t alen)
{
	int c = memcmp(a, b, alen);

	return c < 0 || (c == 0 && aport <= bport);
}

bool community_id_v1(const struct flow_tuple *t, uint16_t seed, char *out, size_t len)
{
	/* seed(2) saddr daddr proto(1) pad(1) sport(2) dport(2), as the spec lays it out. */
	uint8_t in[2 + 16 + 16 + 1 + 1 + 2 + 2], digest[EVP_MAX_MD_SIZE];
	const uint8_t *src = t->src, *dst = t->dst;
	uint16_t sport = t->sport, dport = t->dport;
	unsigned int dlen = 0;
	size_t alen, n = 0;

	if (len)
		out[0] = '\0';
	if (len < COMMUNITY_ID_LEN || (t->proto != IPPROTO_TCP && t->proto != IPPROTO_UDP))
		return false;
	if (t->family == AF_INET) {
		alen = 4;
	} else if (t->family == AF_INET6) {
		alen = 16;
		if (!memcmp(src, v4_mapped, sizeof(v4_mapped)) && !memcmp(dst, v4_mapped, sizeof(v4_mapped))) {
			src += sizeof(v4_mapped);
			dst += sizeof(v4_mapped);
			alen = 4;
		}
	} else {
		return false;
	}
	if (!ordered(src, sport, dst, dport, alen)) {
		const uint8_t *a = src;
		uint16_t p = sport;

		src = dst, dst = a;
		sport = dport, dport = p;
	}
	in[n++] = (uint8_t)(seed >> 8);
	in[n++] = (uint8_t)seed;
	memcpy(in + n, src, alen);
	n += alen;
	memcpy(in + n, dst, alen);
	n += alen;
	in[n++] = t->proto;
	in[n++] = 0;
	in[n++] = (uint8_t)(sport >> 8);
	in[n++] = (uint8_t)sport;
	in[n++] = (uint8_t)(dport >> 8);
	in[n++] = (uint8_t)dport;
	if (!EVP_Digest(in, n, digest, &dlen, EVP_sha1(), NULL) || dlen != 20)
		return false;
	memcpy(out, "1:", 2);
	EVP_EncodeBlock((unsigned char *)out + 2, digest, (int)dlen);
	return true;
}
