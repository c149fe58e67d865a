/* curl_static_stubs.c — only in -DCROSSLINK_STATIC_DEPS=ON builds. Debian's
 * libcurl.a has RTMP (librtmp), LDAP (OpenLDAP) and GSS-API (MIT krb5)
 * support compiled in. Linking those statically would drag in GnuTLS (a
 * second TLS stack, via librtmp and libldap), Cyrus SASL (whose static
 * archive needs Berkeley DB, SQLite, PostgreSQL and MySQL clients) and
 * krb5 (no static archive in Debian: its shared libraries would be mapped
 * again). crosslink never reaches that code: pkg/kube and pkg/probe
 * restrict libcurl to http/https (CURLOPT_PROTOCOLS_STR) and only ever ask
 * for Basic or bearer authentication. These definitions satisfy the linker
 * and fail cleanly if libcurl ever calls them: allocation fails (RTMP),
 * URL parsing fails (LDAP), every GSS-API call returns GSS_S_FAILURE.
 * Parameter lists follow the real headers with opaque types as void *. */
#include <stddef.h>
#include <stdint.h>

#define STUB_GSS_S_COMPLETE 0u
#define STUB_GSS_S_FAILURE (13u << 16)
#define STUB_LDAP_ERROR (-1) /* LDAP_SERVER_DOWN: never LDAP_SUCCESS */

/* ---- librtmp ---------------------------------------------------------------- */

void *RTMP_Alloc(void);
void RTMP_Init(void *r);
void RTMP_Free(void *r);
void RTMP_Close(void *r);
int RTMP_SetupURL(void *r, char *url);
int RTMP_Connect1(void *r, void *cp);
int RTMP_ConnectStream(void *r, int seek_time);
int RTMP_Read(void *r, char *buf, int size);
int RTMP_Write(void *r, const char *buf, int size);
void RTMP_SetBufferMS(void *r, int size);

void *RTMP_Alloc(void)
{
    return NULL; /* libcurl: CURLE_OUT_OF_MEMORY, nothing else is called */
}

void RTMP_Init(void *r)
{
    (void)r;
}

void RTMP_Free(void *r)
{
    (void)r;
}

void RTMP_Close(void *r)
{
    (void)r;
}

int RTMP_SetupURL(void *r, char *url)
{
    (void)r;
    (void)url;
    return 0;
}

int RTMP_Connect1(void *r, void *cp)
{
    (void)r;
    (void)cp;
    return 0;
}

int RTMP_ConnectStream(void *r, int seek_time)
{
    (void)r;
    (void)seek_time;
    return 0;
}

int RTMP_Read(void *r, char *buf, int size)
{
    (void)r;
    (void)buf;
    (void)size;
    return -1;
}

int RTMP_Write(void *r, const char *buf, int size)
{
    (void)r;
    (void)buf;
    (void)size;
    return -1;
}

void RTMP_SetBufferMS(void *r, int size)
{
    (void)r;
    (void)size;
}

/* ---- OpenLDAP (liblber, libldap) --------------------------------------------- */

void ber_bvfree(void *bv);
void ber_free(void *ber, int freebuf);
void ber_memfree(void *p);
void ber_memvfree(void **vector);
int ber_sockbuf_add_io(void *sb, void *sbio, int layer, void *arg);
int ldap_abandon_ext(void *ld, int msgid, void *sctrls, void *cctrls);
char *ldap_err2string(int err);
void ldap_free_urldesc(void *ludp);
int ldap_get_attribute_ber(void *ld, void *e, void *ber, void *attr, void *vals);
int ldap_get_dn_ber(void *ld, void *e, void *berout, void *dn);
int ldap_get_option(void *ld, int option, void *outvalue);
int ldap_init_fd(int fd, int proto, const char *url, void *ldp);
void ldap_memfree(void *p);
int ldap_msgfree(void *lm);
int ldap_msgtype(void *lm);
int ldap_parse_result(void *ld, void *res, int *errcodep, char **matcheddnp, char **errmsgp, char ***referralsp,
                      void *serverctrls, int freeit);
int ldap_parse_sasl_bind_result(void *ld, void *res, void *servercredp, int freeit);
int ldap_pvt_url_scheme2proto(const char *scheme);
int ldap_result(void *ld, int msgid, int all, void *timeout, void *result);
int ldap_sasl_bind(void *ld, const char *dn, const char *mechanism, void *cred, void *sctrls, void *cctrls,
                   int *msgidp);
int ldap_search_ext(void *ld, const char *base, int scope, const char *filter, char **attrs, int attrsonly,
                    void *sctrls, void *cctrls, void *timeout, int sizelimit, int *msgidp);
int ldap_set_option(void *ld, int option, const void *invalue);
int ldap_start_tls(void *ld, void *sctrls, void *cctrls, int *msgidp);
int ldap_unbind_ext(void *ld, void *sctrls, void *cctrls);
int ldap_url_parse(const char *url, void *ludpp);

void ber_bvfree(void *bv)
{
    (void)bv;
}

void ber_free(void *ber, int freebuf)
{
    (void)ber;
    (void)freebuf;
}

void ber_memfree(void *p)
{
    (void)p;
}

void ber_memvfree(void **vector)
{
    (void)vector;
}

int ber_sockbuf_add_io(void *sb, void *sbio, int layer, void *arg)
{
    (void)sb;
    (void)sbio;
    (void)layer;
    (void)arg;
    return -1;
}

int ldap_abandon_ext(void *ld, int msgid, void *sctrls, void *cctrls)
{
    (void)ld;
    (void)msgid;
    (void)sctrls;
    (void)cctrls;
    return STUB_LDAP_ERROR;
}

char *ldap_err2string(int err)
{
    static char msg[] = "LDAP is not supported by this build";
    (void)err;
    return msg;
}

void ldap_free_urldesc(void *ludp)
{
    (void)ludp;
}

int ldap_get_attribute_ber(void *ld, void *e, void *ber, void *attr, void *vals)
{
    (void)ld;
    (void)e;
    (void)ber;
    (void)attr;
    (void)vals;
    return STUB_LDAP_ERROR;
}

int ldap_get_dn_ber(void *ld, void *e, void *berout, void *dn)
{
    (void)ld;
    (void)e;
    (void)berout;
    (void)dn;
    return STUB_LDAP_ERROR;
}

int ldap_get_option(void *ld, int option, void *outvalue)
{
    (void)ld;
    (void)option;
    (void)outvalue;
    return STUB_LDAP_ERROR;
}

int ldap_init_fd(int fd, int proto, const char *url, void *ldp)
{
    (void)fd;
    (void)proto;
    (void)url;
    (void)ldp;
    return STUB_LDAP_ERROR;
}

void ldap_memfree(void *p)
{
    (void)p;
}

int ldap_msgfree(void *lm)
{
    (void)lm;
    return STUB_LDAP_ERROR;
}

int ldap_msgtype(void *lm)
{
    (void)lm;
    return STUB_LDAP_ERROR;
}

int ldap_parse_result(void *ld, void *res, int *errcodep, char **matcheddnp, char **errmsgp, char ***referralsp,
                      void *serverctrls, int freeit)
{
    (void)ld;
    (void)res;
    (void)errcodep;
    (void)matcheddnp;
    (void)errmsgp;
    (void)referralsp;
    (void)serverctrls;
    (void)freeit;
    return STUB_LDAP_ERROR;
}

int ldap_parse_sasl_bind_result(void *ld, void *res, void *servercredp, int freeit)
{
    (void)ld;
    (void)res;
    (void)servercredp;
    (void)freeit;
    return STUB_LDAP_ERROR;
}

int ldap_pvt_url_scheme2proto(const char *scheme)
{
    (void)scheme;
    return -1;
}

int ldap_result(void *ld, int msgid, int all, void *timeout, void *result)
{
    (void)ld;
    (void)msgid;
    (void)all;
    (void)timeout;
    (void)result;
    return -1;
}

int ldap_sasl_bind(void *ld, const char *dn, const char *mechanism, void *cred, void *sctrls, void *cctrls,
                   int *msgidp)
{
    (void)ld;
    (void)dn;
    (void)mechanism;
    (void)cred;
    (void)sctrls;
    (void)cctrls;
    (void)msgidp;
    return STUB_LDAP_ERROR;
}

int ldap_search_ext(void *ld, const char *base, int scope, const char *filter, char **attrs, int attrsonly,
                    void *sctrls, void *cctrls, void *timeout, int sizelimit, int *msgidp)
{
    (void)ld;
    (void)base;
    (void)scope;
    (void)filter;
    (void)attrs;
    (void)attrsonly;
    (void)sctrls;
    (void)cctrls;
    (void)timeout;
    (void)sizelimit;
    (void)msgidp;
    return STUB_LDAP_ERROR;
}

int ldap_set_option(void *ld, int option, const void *invalue)
{
    (void)ld;
    (void)option;
    (void)invalue;
    return STUB_LDAP_ERROR;
}

int ldap_start_tls(void *ld, void *sctrls, void *cctrls, int *msgidp)
{
    (void)ld;
    (void)sctrls;
    (void)cctrls;
    (void)msgidp;
    return STUB_LDAP_ERROR;
}

int ldap_unbind_ext(void *ld, void *sctrls, void *cctrls)
{
    (void)ld;
    (void)sctrls;
    (void)cctrls;
    return STUB_LDAP_ERROR;
}

int ldap_url_parse(const char *url, void *ludpp)
{
    (void)url;
    (void)ludpp;
    return 1; /* LDAP_URL_ERR_MEM: libcurl reports a malformed URL */
}

/* ---- GSS-API (MIT krb5) -------------------------------------------------------- */

void *GSS_C_NT_HOSTBASED_SERVICE = NULL;

uint32_t gss_display_status(uint32_t *minor, uint32_t status, int type, void *mech, uint32_t *ctx, void *out);
uint32_t gss_init_sec_context(uint32_t *minor, void *cred, void *ctx, void *target, void *mech, uint32_t flags,
                              uint32_t time_req, void *chan, void *input, void *actual_mech, void *output,
                              uint32_t *ret_flags, uint32_t *time_rec);
uint32_t gss_release_buffer(uint32_t *minor, void *buffer);
uint32_t gss_delete_sec_context(uint32_t *minor, void *ctx, void *output);
uint32_t gss_import_name(uint32_t *minor, void *input, void *name_type, void *output);
uint32_t gss_release_name(uint32_t *minor, void *name);
uint32_t gss_unwrap(uint32_t *minor, void *ctx, void *input, void *output, int *conf_state, void *qop_state);
uint32_t gss_wrap(uint32_t *minor, void *ctx, int conf_req, uint32_t qop, void *input, int *conf_state,
                  void *output);
uint32_t gss_display_name(uint32_t *minor, void *name, void *output, void *output_type);
uint32_t gss_inquire_context(uint32_t *minor, void *ctx, void *src, void *targ, uint32_t *lifetime, void *mech,
                             uint32_t *flags, int *locally_initiated, int *open);

static uint32_t gss_fail(uint32_t *minor)
{
    if (minor)
        *minor = 0;
    return STUB_GSS_S_FAILURE;
}

uint32_t gss_display_status(uint32_t *minor, uint32_t status, int type, void *mech, uint32_t *ctx, void *out)
{
    (void)status;
    (void)type;
    (void)mech;
    (void)out;
    if (ctx)
        *ctx = 0;
    return gss_fail(minor);
}

uint32_t gss_init_sec_context(uint32_t *minor, void *cred, void *ctx, void *target, void *mech, uint32_t flags,
                              uint32_t time_req, void *chan, void *input, void *actual_mech, void *output,
                              uint32_t *ret_flags, uint32_t *time_rec)
{
    (void)cred;
    (void)ctx;
    (void)target;
    (void)mech;
    (void)flags;
    (void)time_req;
    (void)chan;
    (void)input;
    (void)actual_mech;
    (void)output;
    (void)ret_flags;
    (void)time_rec;
    return gss_fail(minor);
}

uint32_t gss_release_buffer(uint32_t *minor, void *buffer)
{
    (void)buffer;
    if (minor)
        *minor = 0;
    return STUB_GSS_S_COMPLETE; /* nothing was ever allocated */
}

uint32_t gss_delete_sec_context(uint32_t *minor, void *ctx, void *output)
{
    (void)ctx;
    (void)output;
    if (minor)
        *minor = 0;
    return STUB_GSS_S_COMPLETE;
}

uint32_t gss_import_name(uint32_t *minor, void *input, void *name_type, void *output)
{
    (void)input;
    (void)name_type;
    (void)output;
    return gss_fail(minor);
}

uint32_t gss_release_name(uint32_t *minor, void *name)
{
    (void)name;
    if (minor)
        *minor = 0;
    return STUB_GSS_S_COMPLETE;
}

uint32_t gss_unwrap(uint32_t *minor, void *ctx, void *input, void *output, int *conf_state, void *qop_state)
{
    (void)ctx;
    (void)input;
    (void)output;
    (void)conf_state;
    (void)qop_state;
    return gss_fail(minor);
}

uint32_t gss_wrap(uint32_t *minor, void *ctx, int conf_req, uint32_t qop, void *input, int *conf_state,
                  void *output)
{
    (void)ctx;
    (void)conf_req;
    (void)qop;
    (void)input;
    (void)conf_state;
    (void)output;
    return gss_fail(minor);
}

uint32_t gss_display_name(uint32_t *minor, void *name, void *output, void *output_type)
{
    (void)name;
    (void)output;
    (void)output_type;
    return gss_fail(minor);
}

uint32_t gss_inquire_context(uint32_t *minor, void *ctx, void *src, void *targ, uint32_t *lifetime, void *mech,
                             uint32_t *flags, int *locally_initiated, int *open)
{
    (void)ctx;
    (void)src;
    (void)targ;
    (void)lifetime;
    (void)mech;
    (void)flags;
    (void)locally_initiated;
    (void)open;
    return gss_fail(minor);
}
