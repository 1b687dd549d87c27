/*
 * tenants.c — tenants, keys, quotas and the per-tenant rate limit (SPEC §5).
 *
 * Keys are "mmk_<tenant-id>_<64 hex digits>": 256 random bits from
 * libsodium.  Only crypto_generichash(key, server secret) is kept (in
 * memory and in the store's tenants table); the secret is DATA/server.secret
 * (32 random bytes, mode 0600, created at the first start), so a copy of
 * the database alone cannot be used to test guessed keys.  A presented key
 * names its tenant in clear (a load balancer routes by it); its hash is
 * compared with sodium_memcmp (constant time), and an unknown tenant is
 * compared against a dummy hash, so every bad key costs the same work.
 * The admin key (--admin-key-file) is checked the same way.
 *
 * Without an admin key the server is single-tenant: one tenant "default"
 * (never stored), no key asked for, and http.c serves loopback only.
 *
 * Rate limit: a token bucket per tenant (requests_per_second, burst),
 * refilled from the monotonic clock; an empty bucket answers 429 with the
 * seconds until the next token as Retry-After.
 */
#include "server/srv.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "api/api.h"

#define SRV_SECRET_NAME "server.secret"

bool srv_tenant_id_ok(const char *id)
{
	size_t n = 0;
	for (; id[n]; n++)
		if (n >= SRV_TENANT_ID_MAX ||
		    !((id[n] >= 'a' && id[n] <= 'z') ||
		      (id[n] >= '0' && id[n] <= '9') || id[n] == '-'))
			return false;
	return n > 0;
}

/* Reads DIR/server.secret, creating it if absent.  0 or -1 with err. */
static int srv__secret(const char *dir, unsigned char *secret, char *err,
		       size_t errlen)
{
	char path[1100];
	snprintf(path, sizeof(path), "%s/%s", dir, SRV_SECRET_NAME);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, secret, SRV_SECRET_LEN);
		close(fd);
		if (n == SRV_SECRET_LEN)
			return 0;
		snprintf(err, errlen, "%s: expected %d bytes; the file is damaged "
			 "(tenant keys cannot be checked without it)", path,
			 SRV_SECRET_LEN);
		return -1;
	}
	if (errno != ENOENT)
		goto err_errno;
	randombytes_buf(secret, SRV_SECRET_LEN);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		goto err_errno;
	if (write(fd, secret, SRV_SECRET_LEN) != SRV_SECRET_LEN || fsync(fd)) {
		close(fd);
		unlink(path);
		goto err_errno;
	}
	close(fd);
	return 0;
err_errno:
	snprintf(err, errlen, "%s: %s", path, strerror(errno));
	return -1;
}

static void srv__hash(const struct srv_tenants *t, const char *key,
		      unsigned char out[SRV_HASH_LEN])
{
	crypto_generichash(out, SRV_HASH_LEN, (const unsigned char *)key,
			   strlen(key), t->secret, SRV_SECRET_LEN);
}

/* The quotas a tenant runs with: its own where given, else the flags'. */
static void srv__quotas(const struct srv_options *o, const json_t *given,
			struct srv_quotas *q)
{
	json_t *v;
	q->machines = o->tenant_max_machines;
	q->memory = o->tenant_max_memory;
	q->rps = o->rate;
	q->burst = o->rate_burst;
	if ((v = json_object_get(given, "machines")))
		q->machines = (uint64_t)json_integer_value(v);
	if ((v = json_object_get(given, "memory")))
		q->memory = (uint64_t)json_integer_value(v);
	if ((v = json_object_get(given, "requests_per_second")))
		q->rps = (double)json_integer_value(v);
	if ((v = json_object_get(given, "burst")))
		q->burst = (double)json_integer_value(v);
	if (q->burst < 1)
		q->burst = 1;
}

int srv_quotas_decode(const json_t *in, json_t **out, char *err, size_t errlen)
{
	static const char *const keys[] = {"machines", "memory",
					   "requests_per_second", "burst", NULL};
	const char *key;
	json_t *v;

	*out = json_object();
	if (!in || json_is_null(in))
		return 0;
	if (!json_is_object(in)) {
		snprintf(err, errlen, "quotas: expected an object");
		goto fail;
	}
	json_object_foreach((json_t *)in, key, v) {
		int k = 0;
		while (keys[k] && strcmp(keys[k], key))
			k++;
		if (!keys[k]) {
			snprintf(err, errlen, "quotas: unknown key \"%.60s\" "
				 "(machines, memory, requests_per_second, burst)",
				 key);
			goto fail;
		}
		uint64_t n;
		struct api_error e;
		if (k == 1 ? api_parse_size(v, "memory", &n, &e)
			   : !json_is_integer(v) || json_integer_value(v) < 0
			   ? -1 : (n = (uint64_t)json_integer_value(v), 0)) {
			snprintf(err, errlen, "quotas.%s: expected %s", key, k == 1
				 ? "a size (bytes or \"4G\")" : "an integer >= 0");
			goto fail;
		}
		if (n > (k == 1 ? (1ull << 46) : 1000000)) {
			snprintf(err, errlen, "quotas.%s: %llu is too large", key,
				 (unsigned long long)n);
			goto fail;
		}
		json_object_set_new(*out, key, json_integer((json_int_t)n));
	}
	return 0;
fail:
	json_decref(*out);
	*out = NULL;
	return -1;
}

int srv_tenants_init(struct srv_tenants *t, const struct srv_options *o,
		     char *err, size_t errlen)
{
	memset(t, 0, sizeof(*t));
	t->opt = o;
	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium failed to initialise");
		return -1;
	}
	if (!o->admin_key_file[0]) {
		/* single-tenant: the server's own limits are the only ones */
		json_t *q = json_pack("{s:I, s:I}", "machines",
				      (json_int_t)o->max_machines, "memory",
				      (json_int_t)o->max_memory);
		if (!q || !srv_tenant_add(t, "default", NULL, q)) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		return 0;
	}
	t->multi = true;
	if (srv__secret(o->data_dir, t->secret, err, errlen))
		return -1;
	FILE *f = fopen(o->admin_key_file, "r");
	if (!f) {
		snprintf(err, errlen, "--admin-key-file %s: %s", o->admin_key_file,
			 strerror(errno));
		return -1;
	}
	char key[512];
	size_t n = fread(key, 1, sizeof(key) - 1, f);
	fclose(f);
	key[n] = '\0';
	while (n && (key[n - 1] == '\n' || key[n - 1] == '\r' ||
		     key[n - 1] == ' ' || key[n - 1] == '\t'))
		key[--n] = '\0';
	if (n < 16 || n >= sizeof(key) - 1 || strlen(key) != n) {
		snprintf(err, errlen, "--admin-key-file %s: the admin key must be "
			 "one line of 16 to 500 characters (e.g. `openssl rand "
			 "-hex 32`)", o->admin_key_file);
		sodium_memzero(key, sizeof(key));
		return -1;
	}
	srv__hash(t, key, t->admin_hash);
	sodium_memzero(key, sizeof(key));
	return 0;
}

void srv_tenants_free(struct srv_tenants *t)
{
	for (size_t i = 0; i < t->n; i++) {
		json_decref(t->v[i]->given);
		free(t->v[i]);
	}
	free(t->v);
	memset(t, 0, sizeof(*t));
}

struct srv_tenant *srv_tenant_get(const struct srv_tenants *t, const char *id)
{
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(t->v[mid]->id, id);
		if (!c)
			return t->v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

size_t srv_tenants_after(const struct srv_tenants *t, const char *after)
{
	size_t i = 0;
	while (i < t->n && strcmp(t->v[i]->id, after) <= 0)
		i++;
	return i;
}

struct srv_tenant *srv_tenant_add(struct srv_tenants *t, const char *id,
				  const char *hash_hex, json_t *quotas)
{
	struct srv_tenant *tn = srv_tenant_get(t, id);
	if (!tn) {
		if (t->n == t->cap) {
			size_t cap = t->cap ? t->cap * 2 : 16;
			struct srv_tenant **v = realloc(t->v, cap * sizeof(*v));
			if (!v)
				return NULL;
			t->v = v;
			t->cap = cap;
		}
		tn = calloc(1, sizeof(*tn));
		if (!tn)
			return NULL;
		snprintf(tn->id, sizeof(tn->id), "%s", id);
		size_t at = srv_tenants_after(t, id);
		memmove(&t->v[at + 1], &t->v[at], (t->n - at) * sizeof(t->v[0]));
		t->v[at] = tn;
		t->n++;
	}
	if (hash_hex) {
		size_t bin = 0;
		if (sodium_hex2bin(tn->hash, SRV_HASH_LEN, hash_hex,
				   strlen(hash_hex), NULL, &bin, NULL) ||
		    bin != SRV_HASH_LEN)
			memset(tn->hash, 0, sizeof(tn->hash)); /* no key matches */
	}
	json_decref(tn->given);
	tn->given = quotas ? quotas : json_object();
	srv__quotas(t->opt, tn->given, &tn->q);
	tn->tokens = tn->q.burst;
	tn->t_last = uv_hrtime();
	return tn;
}

void srv_tenant_remove(struct srv_tenants *t, const char *id)
{
	for (size_t i = 0; i < t->n; i++) {
		if (strcmp(t->v[i]->id, id))
			continue;
		json_decref(t->v[i]->given);
		free(t->v[i]);
		memmove(&t->v[i], &t->v[i + 1], (t->n - i - 1) * sizeof(t->v[0]));
		t->n--;
		return;
	}
}

void srv_tenant_new_key(const struct srv_tenants *t, struct srv_tenant *tn,
			char *key, size_t keylen, char *hash_hex)
{
	unsigned char secret[32];
	char hex[65];
	randombytes_buf(secret, sizeof(secret));
	sodium_bin2hex(hex, sizeof(hex), secret, sizeof(secret));
	snprintf(key, keylen, "mmk_%s_%s", tn->id, hex);
	srv__hash(t, key, tn->hash);
	sodium_bin2hex(hash_hex, SRV_HASH_LEN * 2 + 1, tn->hash, SRV_HASH_LEN);
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(hex, sizeof(hex));
}

enum srv_who srv_tenants_auth(const struct srv_tenants *t, const char *header,
			      struct srv_tenant **out)
{
	static const unsigned char dummy[SRV_HASH_LEN];
	unsigned char h[SRV_HASH_LEN];
	char id[SRV_TENANT_ID_MAX + 1];

	*out = NULL;
	if (!t->multi) {
		*out = t->v[0];
		return SRV_WHO_TENANT;
	}
	if (!header || strncasecmp(header, "Bearer ", 7))
		return SRV_WHO_NONE;
	const char *key = header + 7;
	while (*key == ' ')
		key++;
	if (strlen(key) > 512)
		return SRV_WHO_BAD;
	srv__hash(t, key, h);
	if (sodium_memcmp(h, t->admin_hash, SRV_HASH_LEN) == 0)
		return SRV_WHO_ADMIN;
	const struct srv_tenant *tn = NULL;
	if (!strncmp(key, "mmk_", 4)) {
		size_t n = strcspn(key + 4, "_");
		if (n <= SRV_TENANT_ID_MAX && key[4 + n] == '_') {
			memcpy(id, key + 4, n);
			id[n] = '\0';
			tn = srv_tenant_get(t, id);
		}
	}
	bool ok = sodium_memcmp(h, tn ? tn->hash : dummy, SRV_HASH_LEN) == 0;
	if (!tn || !ok)
		return SRV_WHO_BAD;
	*out = (struct srv_tenant *)tn;
	return SRV_WHO_TENANT;
}

int srv_tenant_take(struct srv_tenant *tn, uint64_t now_ns, unsigned *retry)
{
	if (tn->q.rps <= 0)
		return 0; /* unlimited */
	double dt = (double)(now_ns - tn->t_last) / 1e9;
	tn->t_last = now_ns;
	tn->tokens += dt * tn->q.rps;
	if (tn->tokens > tn->q.burst)
		tn->tokens = tn->q.burst;
	if (tn->tokens >= 1) {
		tn->tokens -= 1;
		return 0;
	}
	double wait = (1 - tn->tokens) / tn->q.rps;
	*retry = (unsigned)ceil(wait);
	if (*retry < 1)
		*retry = 1;
	return -1;
}

json_t *srv_tenant_json(const struct srv_tenant *tn, size_t machines,
			uint64_t memory)
{
	return json_pack("{s:s, s:{s:I, s:I, s:I, s:I}, s:O, s:{s:I, s:I}}",
			 "id", tn->id, "quotas", "machines",
			 (json_int_t)tn->q.machines, "memory",
			 (json_int_t)tn->q.memory, "requests_per_second",
			 (json_int_t)tn->q.rps, "burst", (json_int_t)tn->q.burst,
			 "quotas_given", tn->given, "usage", "machines",
			 (json_int_t)machines, "memory", (json_int_t)memory);
}
