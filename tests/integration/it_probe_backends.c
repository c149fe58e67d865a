/* it_probe_backends.c — pkg/probe against real servers on loopback: a real
 * Prometheus (Debian package, --web.route-prefix=/prometheus, exemplar
 * storage on) and the Python stand-ins of tests/standins/standin.py for
 * Mimir/Tempo/Loki/Pyroscope (tenant, basic/bearer auth, 500, slow, bad body,
 * not-ready, TLS with a CA generated here). Also the cache (200 stacks × 4
 * signals from 8 threads → one probe per signal, counted in the stand-in) and
 * isolation of a dead backend. Needs no Kubernetes cluster: everything runs
 * on 127.0.0.1 and is killed at exit. Bounded: every server is started once. */
#include "probe.h"
#include "test.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_SERVERS 16

static char tmpdir[256];
static pid_t pids[MAX_SERVERS];
static int npids;
static int setup_done, setup_ok;

enum srv {
    S_ALL_T1,    /* kind all, tenant t1 */
    S_LOKI_500,
    S_PYRO_BADBODY,
    S_TEMPO_SLOW,
    S_LOKI_NOTREADY,
    S_LOKI_NOTREADY2,
    S_TLS,       /* kind all, https */
    S_BASIC,
    S_BEARER,
    S_TEMPO_T1,  /* kind tempo only, tenant t1 */
    S_CORTEX,    /* kind mimir reporting application "Cortex" */
    S_COUNT
};
static int ports[S_COUNT];
static int prom_port;

#define BASIC_PASS "s3cr3t-Basic-PW-42"
#define BEARER_TOK "tok-Bearer-Very-Secret-99"
/* credentials on targets of servers that do not check them: the failure
 * messages must still never show them */
#define WITH_CREDS .basic_user = "grafana", .basic_password = BASIC_PASS
#define ASSERT_NO_SECRET(r)                                                   \
    do {                                                                      \
        ASSERT_NOT_CONTAINS((r).message, BASIC_PASS);                         \
        ASSERT_NOT_CONTAINS((r).message, BEARER_TOK);                         \
    } while (0)

static void kill_all(void)
{
    int i;
    for (i = 0; i < npids; i++) {
        if (pids[i] > 0) {
            kill(pids[i], SIGKILL);
            waitpid(pids[i], NULL, 0);
        }
    }
    npids = 0;
    if (*tmpdir) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            fprintf(stderr, "cleanup of %s failed\n", tmpdir);
    }
}

static pid_t spawn(char *const argv[], const char *log)
{
    pid_t p = fork();
    if (p == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a crashed test */
        execvp(argv[0], argv);
        _exit(127);
    }
    if (p > 0 && npids < MAX_SERVERS)
        pids[npids++] = p;
    return p;
}

static int free_port(void)
{
    struct sockaddr_in a;
    socklen_t l = sizeof a;
    int s = socket(AF_INET, SOCK_STREAM, 0), port;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(s, (struct sockaddr *)&a, &l) != 0) {
        if (s >= 0)
            close(s);
        return -1;
    }
    port = ntohs(a.sin_port);
    close(s);
    return port;
}

static void start_standin(enum srv id, const char *kind, ...)
{
    char *argv[32];
    char pf[300], log[300];
    int n = 0;
    va_list ap;
    snprintf(pf, sizeof pf, "%s/standin-%d.port", tmpdir, (int)id);
    snprintf(log, sizeof log, "%s/standin-%d.log", tmpdir, (int)id);
    argv[n++] = "python3";
    argv[n++] = XL_SOURCE_DIR "/tests/standins/standin.py";
    argv[n++] = "--kind";
    argv[n++] = (char *)kind;
    argv[n++] = "--port-file";
    argv[n++] = pf;
    va_start(ap, kind);
    for (;;) {
        char *a = va_arg(ap, char *);
        if (!a || n >= 30)
            break;
        argv[n++] = a;
    }
    va_end(ap);
    argv[n] = NULL;
    spawn(argv, log);
}

static int read_port(enum srv id)
{
    char pf[300];
    FILE *f;
    int port = -1;
    snprintf(pf, sizeof pf, "%s/standin-%d.port", tmpdir, (int)id);
    f = fopen(pf, "r");
    if (!f)
        return -1;
    if (fscanf(f, "%d", &port) != 1)
        port = -1;
    fclose(f);
    return port;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static size_t sink(char *p, size_t s, size_t n, void *ud)
{
    struct op_buf *b = ud;
    if (b && op_buf_append(b, p, s * n) != 0)
        return 0;
    return s * n;
}

/* Plain GET/POST with curl, for readiness waits and the stand-in counters. */
static long http(const char *method, const char *url, struct op_buf *out)
{
    CURL *c = curl_easy_init();
    long code = 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 2000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    if (strcmp(method, "POST") == 0)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    return code;
}

static int gen_certs(void)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && "
             "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=crosslink test CA' "
             "-keyout ca.key -out ca.crt >/dev/null 2>&1 && "
             "openssl req -newkey rsa:2048 -nodes -subj '/CN=localhost' -keyout srv.key -out srv.csr "
             ">/dev/null 2>&1 && "
             "printf 'subjectAltName=DNS:localhost,DNS:backend.test\\n' > ext.cnf && "
             "openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 "
             "-extfile ext.cnf -out srv.crt >/dev/null 2>&1",
             tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = calloc(1, (size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

static char ca_path[300], cert_path[300], key_path[300];

static int setup(void)
{
    char cfg[300], data[300], log[300], listen[64], ext[128];
    char prom_url[128];
    int i;
    int64_t until;
    FILE *f;

    if (setup_done)
        return setup_ok;
    setup_done = 1;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/xl-it-probe-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        *tmpdir = '\0';
        return 0;
    }
    atexit(kill_all);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (gen_certs() != 0) {
        fprintf(stderr, "openssl certificate generation failed\n");
        return 0;
    }
    snprintf(ca_path, sizeof ca_path, "%s/ca.crt", tmpdir);
    snprintf(cert_path, sizeof cert_path, "%s/srv.crt", tmpdir);
    snprintf(key_path, sizeof key_path, "%s/srv.key", tmpdir);

    start_standin(S_ALL_T1, "all", "--tenant", "t1", NULL);
    start_standin(S_LOKI_500, "loki", "--fail-mode", "500", NULL);
    start_standin(S_PYRO_BADBODY, "pyroscope", "--fail-mode", "badbody", NULL);
    start_standin(S_TEMPO_SLOW, "tempo", "--fail-mode", "slow", "--slow-seconds", "20", NULL);
    start_standin(S_LOKI_NOTREADY, "loki", "--fail-mode", "notready", NULL);
    start_standin(S_LOKI_NOTREADY2, "loki", "--fail-mode", "notready-for-4-seconds", NULL);
    start_standin(S_TLS, "all", "--tls-cert", cert_path, "--tls-key", key_path, NULL);
    start_standin(S_BASIC, "all", "--require-basic", "grafana:" BASIC_PASS, NULL);
    start_standin(S_BEARER, "all", "--require-bearer", BEARER_TOK, NULL);
    start_standin(S_TEMPO_T1, "tempo", "--tenant", "t1", NULL);
    start_standin(S_CORTEX, "mimir", "--application", "Cortex", "--version", "1.16.0", NULL);

    /* Prometheus */
    snprintf(cfg, sizeof cfg, "%s/prometheus.yml", tmpdir);
    snprintf(data, sizeof data, "%s/prom-data", tmpdir);
    snprintf(log, sizeof log, "%s/prometheus.log", tmpdir);
    f = fopen(cfg, "w");
    if (!f)
        return 0;
    fprintf(f, "global:\n  scrape_interval: 15s\nscrape_configs: []\n");
    fclose(f);
    prom_port = free_port();
    {
        char a_cfg[340], a_data[340], a_listen[100], a_ext[160];
        char *argv[12];
        int n = 0;
        snprintf(listen, sizeof listen, "127.0.0.1:%d", prom_port);
        snprintf(ext, sizeof ext, "http://127.0.0.1:%d/prometheus", prom_port);
        snprintf(a_cfg, sizeof a_cfg, "--config.file=%s", cfg);
        snprintf(a_data, sizeof a_data, "--storage.tsdb.path=%s", data);
        snprintf(a_listen, sizeof a_listen, "--web.listen-address=%s", listen);
        snprintf(a_ext, sizeof a_ext, "--web.external-url=%s", ext);
        argv[n++] = "prometheus";
        argv[n++] = a_cfg;
        argv[n++] = a_data;
        argv[n++] = a_listen;
        argv[n++] = "--web.route-prefix=/prometheus";
        argv[n++] = a_ext;
        argv[n++] = "--enable-feature=exemplar-storage";
        argv[n] = NULL;
        spawn(argv, log);
    }

    until = op_mono_ms() + 60000;
    for (i = 0; i < S_COUNT; i++) {
        while ((ports[i] = read_port((enum srv)i)) <= 0 && op_mono_ms() < until)
            sleep_ms(100);
        if (ports[i] <= 0) {
            fprintf(stderr, "stand-in %d did not start (see %s)\n", i, tmpdir);
            return 0;
        }
    }
    snprintf(prom_url, sizeof prom_url, "http://127.0.0.1:%d/prometheus/-/ready", prom_port);
    while (http("GET", prom_url, NULL) != 200 && op_mono_ms() < until)
        sleep_ms(200);
    if (http("GET", prom_url, NULL) != 200) {
        fprintf(stderr, "prometheus did not become ready (see %s)\n", log);
        return 0;
    }
    setup_ok = 1;
    return 1;
}

static char *url_of(enum srv id, const char *scheme, const char *host, const char *suffix)
{
    return op_asprintf("%s://%s:%d%s", scheme, host, ports[id], suffix ? suffix : "");
}

static void probe1(const struct probe_target *t, struct probe_result *r)
{
    struct probe_engine *e = NULL;
    if (probe_engine_new(&e, 8, 0) != 0) {
        probe_result_set(r, 0, "engine", "engine failed");
        return;
    }
    probe_run(e, t, 1, r);
    probe_engine_free(e);
}

/* ---- Prometheus ---------------------------------------------------------- */

TEST(prometheus_metrics_reachable_with_version)
{
    char url[128];
    struct probe_target t = {.signal = PROBE_METRICS, .url = url, .tenant = "anything"};
    struct probe_result r;
    ASSERT_TRUE(setup());
    snprintf(url, sizeof url, "http://127.0.0.1:%d/prometheus", prom_port);
    probe1(&t, &r);
    ASSERT_EQ(r.ok, 1);
    ASSERT_STR_EQ(r.reason, "HealthCheckPassed");
    ASSERT_TRUE(strncmp(r.version, "2.42.0", 6) == 0); /* Debian: "2.42.0+ds" */
    ASSERT_CONTAINS(r.message, "Prometheus 2.42.0");
    ASSERT_CONTAINS(r.message, url);
    ASSERT_CONTAINS(r.message, "/-/ready → 200");
    ASSERT_CONTAINS(r.message, "POST /api/v1/query → 200");
    ASSERT_CONTAINS(r.message, PROBE_VANTAGE);
    ASSERT_EQ(r.http_status, 200);
    ASSERT_TRUE(strchr(r.message, '\n') == NULL);
}

TEST(flavor_mimir_is_checked_against_buildinfo)
{
    char url[128], *cortex;
    struct probe_target t = {.signal = PROBE_METRICS, .url = url, .flavor = "Mimir"};
    struct probe_result r;
    ASSERT_TRUE(setup());
    /* Prometheus names no application: cannot contradict, passes */
    snprintf(url, sizeof url, "http://127.0.0.1:%d/prometheus", prom_port);
    probe1(&t, &r);
    ASSERT_EQ(r.ok, 1);
    /* a backend that says it is something else fails */
    cortex = url_of(S_CORTEX, "http", "127.0.0.1", "/prometheus");
    t.url = cortex;
    probe1(&t, &r);
    ASSERT_EQ(r.ok, 0);
    ASSERT_STR_EQ(r.reason, "InvalidResponse");
    ASSERT_CONTAINS(r.message, "flavor is Mimir");
    ASSERT_CONTAINS(r.message, "Cortex 1.16.0");
    t.flavor = "Cortex";
    probe1(&t, &r);
    ASSERT_EQ(r.ok, 1);
    free(cortex);
}

TEST(prometheus_wrong_prefix_is_unexpected_status)
{
    char url[128];
    struct probe_target t = {.signal = PROBE_METRICS, .url = url};
    struct probe_result r;
    ASSERT_TRUE(setup());
    snprintf(url, sizeof url, "http://127.0.0.1:%d/nope", prom_port);
    probe1(&t, &r);
    ASSERT_EQ(r.ok, 0);
    ASSERT_STR_EQ(r.reason, "UnexpectedStatus");
}

/* ---- stand-ins: the four signals with a tenant ---------------------------- */

TEST(all_four_signals_pass_with_the_right_tenant)
{
    char *base = NULL, *mim = NULL;
    struct probe_target t[4];
    struct probe_result r[4];
    struct probe_engine *e = NULL;
    int i;
    ASSERT_TRUE(setup());
    base = url_of(S_ALL_T1, "http", "127.0.0.1", NULL);
    mim = url_of(S_ALL_T1, "http", "127.0.0.1", "/prometheus");
    memset(t, 0, sizeof t);
    for (i = 0; i < 4; i++) {
        t[i].signal = i;
        t[i].url = i == 0 ? mim : base;
        t[i].tenant = "t1";
    }
    ASSERT_OK(probe_engine_new(&e, 8, 0));
    ASSERT_OK(probe_run(e, t, 4, r));
    probe_engine_free(e);
    for (i = 0; i < 4; i++) {
        if (!r[i].ok)
            fprintf(stderr, "signal %d: %s %s\n", i, r[i].reason, r[i].message);
    }
    ASSERT_EQ(r[0].ok + r[1].ok + r[2].ok + r[3].ok, 4);
    ASSERT_CONTAINS(r[0].message, "Grafana Mimir 2.14.0");
    ASSERT_STR_EQ(r[0].version, "2.14.0");
    ASSERT_CONTAINS(r[1].message, "Tempo 2.6.1");
    ASSERT_CONTAINS(r[1].message, "/api/search/tags → 200");
    ASSERT_CONTAINS(r[2].message, "Loki 3.2.0");
    ASSERT_CONTAINS(r[2].message, "/loki/api/v1/query → 200");
    ASSERT_CONTAINS(r[3].message, "Pyroscope 1.9.0");
    ASSERT_CONTAINS(r[3].message, "ProfileTypes → 200");
    free(base);
    free(mim);
}

TEST(missing_or_wrong_tenant_is_unauthorized_for_every_signal)
{
    char *base = NULL, *mim = NULL;
    struct probe_target t[8];
    struct probe_result r[8];
    struct probe_engine *e = NULL;
    int i;
    ASSERT_TRUE(setup());
    base = url_of(S_ALL_T1, "http", "127.0.0.1", NULL);
    mim = url_of(S_ALL_T1, "http", "127.0.0.1", "/prometheus");
    memset(t, 0, sizeof t);
    for (i = 0; i < 8; i++) {
        t[i].signal = i % 4;
        t[i].url = i % 4 == 0 ? mim : base;
        t[i].tenant = i < 4 ? NULL : "t2";
    }
    ASSERT_OK(probe_engine_new(&e, 8, 0));
    ASSERT_OK(probe_run(e, t, 8, r));
    probe_engine_free(e);
    for (i = 0; i < 8; i++) {
        ASSERT_EQ(r[i].ok, 0);
        ASSERT_STR_EQ(r[i].reason, "Unauthorized");
        ASSERT_EQ(r[i].http_status, 401);
    }
    ASSERT_CONTAINS(r[2].message, "no org id");
    ASSERT_CONTAINS(r[3].message, "no org id");
    free(base);
    free(mim);
}

TEST(tempo_echo_alone_would_pass_but_the_probe_checks_the_tenant)
{
    char *base = NULL, *echo = NULL;
    struct op_buf b;
    struct probe_target t = {.signal = PROBE_TRACES, .tenant = "wrong"};
    struct probe_result r;
    ASSERT_TRUE(setup());
    base = url_of(S_TEMPO_T1, "http", "127.0.0.1", NULL);
    echo = url_of(S_TEMPO_T1, "http", "127.0.0.1", "/api/echo");
    op_buf_init(&b, 4096);
    ASSERT_EQ(http("GET", echo, &b), 200);
    ASSERT_STR_EQ(b.data, "echo");
    op_buf_cleanup(&b);
    t.url = base;
    probe1(&t, &r);
    ASSERT_EQ(r.ok, 0);
    ASSERT_STR_EQ(r.reason, "Unauthorized");
    ASSERT_CONTAINS(r.message, "/api/search/tags → 401");
    t.tenant = "t1";
    probe1(&t, &r);
    ASSERT_EQ(r.ok, 1);
    free(base);
    free(echo);
}

/* ---- failure modes -------------------------------------------------------- */

TEST(server_error_is_unexpected_status)
{
    char *u;
    struct probe_target t = {.signal = PROBE_LOGS, WITH_CREDS};
    struct probe_result r;
    ASSERT_TRUE(setup());
    u = url_of(S_LOKI_500, "http", "127.0.0.1", NULL);
    t.url = u;
    probe1(&t, &r);
    ASSERT_EQ(r.ok, 0);
    ASSERT_STR_EQ(r.reason, "UnexpectedStatus");
    ASSERT_EQ(r.http_status, 500);
    ASSERT_CONTAINS(r.message, "→ 500");
    ASSERT_CONTAINS(r.message, "Loki 3.2.0"); /* version known from buildinfo */
    ASSERT_STR_EQ(r.version, "3.2.0");
    ASSERT_NO_SECRET(r);
    free(u);
}

TEST(wrong_body_is_invalid_response)
{
    char *u;
    struct probe_target t = {.signal = PROBE_PROFILES, .bearer_token = BEARER_TOK};
    struct probe_result r;
    ASSERT_TRUE(setup());
    u = url_of(S_PYRO_BADBODY, "http", "127.0.0.1", NULL);
    t.url = u;
    probe1(&t, &r);
    ASSERT_EQ(r.ok, 0);
    ASSERT_STR_EQ(r.reason, "InvalidResponse");
    ASSERT_CONTAINS(r.message, "not a JSON object");
    ASSERT_NO_SECRET(r);
    free(u);
}

TEST(slow_backend_times_out_within_budget)
{
    char *u;
    struct probe_target t = {.signal = PROBE_TRACES, .timeout_ms = 800, WITH_CREDS};
    struct probe_result r;
    int64_t t0;
    ASSERT_TRUE(setup());
    u = url_of(S_TEMPO_SLOW, "http", "127.0.0.1", NULL);
    t.url = u;
    t0 = op_mono_ms();
    probe1(&t, &r);
    ASSERT_EQ(r.ok, 0);
    ASSERT_STR_EQ(r.reason, "Timeout");
    ASSERT_CONTAINS(r.message, "no response from");
    ASSERT_NO_SECRET(r);
    ASSERT_TRUE(op_mono_ms() - t0 < 800 + 400);
    ASSERT_TRUE(op_mono_ms() - t0 >= 790);
    free(u);
}

TEST(never_ready_is_retried_then_unexpected_status)
{
    char *u;
    struct probe_target t = {.signal = PROBE_LOGS, .timeout_ms = 1600};
    struct probe_result r;
    struct op_buf b;
    char *cnt;
    json_t *j;
    ASSERT_TRUE(setup());
    u = url_of(S_LOKI_NOTREADY, "http", "127.0.0.1", NULL);
    t.url = u;
    probe1(&t, &r);
    ASSERT_EQ(r.ok, 0);
    ASSERT_STR_EQ(r.reason, "UnexpectedStatus");
    ASSERT_EQ(r.http_status, 503);
    ASSERT_CONTAINS(r.message, "/ready → 503, not ready");
    ASSERT_CONTAINS(r.message, "Ingester not ready");
    ASSERT_CONTAINS(r.message, "retried for");
    free(u);
    /* it really retried: ≥ 3 requests to /ready within 1.6 s */
    cnt = url_of(S_LOKI_NOTREADY, "http", "127.0.0.1", "/__count");
    op_buf_init(&b, 65536);
    ASSERT_EQ(http("GET", cnt, &b), 200);
    j = json_loads(b.data, 0, NULL);
    ASSERT_TRUE(json_integer_value(json_object_get(json_object_get(j, "paths"), "GET /ready")) >= 3);
    json_decref(j);
    op_buf_cleanup(&b);
    free(cnt);
}

TEST(loki_not_ready_right_after_start_passes_within_budget)
{
    char *u;
    struct probe_target t = {.signal = PROBE_LOGS, .timeout_ms = 8000};
    struct probe_result r;
    ASSERT_TRUE(setup());
    u = url_of(S_LOKI_NOTREADY2, "http", "127.0.0.1", NULL);
    t.url = u;
    probe1(&t, &r);
    if (!r.ok)
        fprintf(stderr, "%s\n", r.message);
    ASSERT_EQ(r.ok, 1);
    ASSERT_STR_EQ(r.reason, "HealthCheckPassed");
    free(u);
}

TEST(connection_refused)
{
    char url[64];
    struct probe_target t = {.signal = PROBE_METRICS, .url = url, WITH_CREDS};
    struct probe_result r;
    int port = free_port();
    ASSERT_TRUE(port > 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/prometheus", port);
    probe1(&t, &r);
    ASSERT_EQ(r.ok, 0);
    ASSERT_STR_EQ(r.reason, "ConnectionRefused");
    ASSERT_CONTAINS(r.message, "connection refused");
    ASSERT_CONTAINS(r.message, url);
    ASSERT_CONTAINS(r.message, PROBE_VANTAGE);
    ASSERT_EQ(r.http_status, 0);
    ASSERT_NO_SECRET(r);
}

TEST(connect_timeout_on_a_full_listen_queue)
{
    /* a listener that never accepts, its queue filled: SYNs are dropped, so
     * the probe's connect hangs until the connect timeout */
    struct sockaddr_in a;
    socklen_t l = sizeof a;
    int ls = socket(AF_INET, SOCK_STREAM, 0), fill[8], k, nfill = 0;
    char url[64];
    struct probe_target t = {.signal = PROBE_TRACES, .url = url, .timeout_ms = 700, WITH_CREDS};
    struct probe_result r;
    int64_t t0;

    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_TRUE(ls >= 0);
    ASSERT_OK(bind(ls, (struct sockaddr *)&a, sizeof a));
    ASSERT_OK(getsockname(ls, (struct sockaddr *)&a, &l));
    ASSERT_OK(listen(ls, 0));
    for (k = 0; k < 8; k++) {
        int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (s < 0)
            break;
        (void)connect(s, (struct sockaddr *)&a, sizeof a);
        fill[nfill++] = s;
    }
    sleep_ms(100);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", ntohs(a.sin_port));
    t0 = op_mono_ms();
    probe1(&t, &r);
    for (k = 0; k < nfill; k++)
        close(fill[k]);
    close(ls);
    ASSERT_STR_EQ(r.reason, "Timeout");
    ASSERT_CONTAINS(r.message, "timed out after");
    ASSERT_TRUE(op_mono_ms() - t0 < 700 + 400);
    ASSERT_NO_SECRET(r);
}

TEST(dns_failure)
{
    struct probe_target t = {.signal = PROBE_LOGS, .url = "http://loki.crosslink-test.invalid:3100",
                             .bearer_token = BEARER_TOK};
    struct probe_result r;
    probe1(&t, &r);
    ASSERT_EQ(r.ok, 0);
    ASSERT_STR_EQ(r.reason, "DNSFailure");
    ASSERT_CONTAINS(r.message, "loki.crosslink-test.invalid");
    ASSERT_NO_SECRET(r);
}

/* ---- TLS ---------------------------------------------------------------- */

TEST(tls_with_generated_ca)
{
    char *ca, *u_local, *u_ip;
    /* generous budget: TLS handshakes are slow under valgrind */
    struct probe_target t = {.signal = PROBE_TRACES, .timeout_ms = 20000, WITH_CREDS};
    struct probe_result r;
    ASSERT_TRUE(setup());
    ca = slurp(ca_path);
    ASSERT_TRUE(ca != NULL);
    u_local = url_of(S_TLS, "https", "localhost", NULL);
    u_ip = url_of(S_TLS, "https", "127.0.0.1", NULL);

    /* right CA → pass */
    t.url = u_local;
    t.ca_pem = ca;
    probe1(&t, &r);
    if (!r.ok)
        fprintf(stderr, "%s\n", r.message);
    ASSERT_EQ(r.ok, 1);
    /* no CA → TLSError */
    t.ca_pem = NULL;
    probe1(&t, &r);
    ASSERT_EQ(r.ok, 0);
    ASSERT_STR_EQ(r.reason, "TLSError");
    ASSERT_NO_SECRET(r);
    /* insecureSkipVerify → pass */
    t.insecure_skip_verify = 1;
    probe1(&t, &r);
    ASSERT_EQ(r.ok, 1);
    /* the certificate does not name 127.0.0.1 … */
    t.insecure_skip_verify = 0;
    t.url = u_ip;
    t.ca_pem = ca;
    probe1(&t, &r);
    ASSERT_EQ(r.ok, 0);
    ASSERT_STR_EQ(r.reason, "TLSError");
    /* … but serverName makes it verify backend.test */
    t.server_name = "backend.test";
    probe1(&t, &r);
    if (!r.ok)
        fprintf(stderr, "%s\n", r.message);
    ASSERT_EQ(r.ok, 1);
    ASSERT_CONTAINS(r.message, u_ip);
    /* plain http to the TLS port fails without hanging */
    free(u_ip);
    u_ip = url_of(S_TLS, "http", "127.0.0.1", NULL);
    t.url = u_ip;
    t.server_name = NULL;
    probe1(&t, &r);
    ASSERT_EQ(r.ok, 0);
    ASSERT_STR_EQ(r.reason, "InvalidResponse");
    ASSERT_TRUE(r.latency_ms < 5000);
    free(ca);
    free(u_local);
    free(u_ip);
}

/* ---- credentials ---------------------------------------------------------- */

TEST(basic_auth_right_wrong_and_never_in_messages)
{
    char *u, *u_info;
    struct probe_target t = {.signal = PROBE_LOGS, .basic_user = "grafana"};
    struct probe_result r;
    ASSERT_TRUE(setup());
    u = url_of(S_BASIC, "http", "127.0.0.1", NULL);
    t.url = u;
    t.basic_password = BASIC_PASS;
    probe1(&t, &r);
    ASSERT_EQ(r.ok, 1);
    ASSERT_NOT_CONTAINS(r.message, BASIC_PASS);
    t.basic_password = "wrong-password-123";
    probe1(&t, &r);
    ASSERT_EQ(r.ok, 0);
    ASSERT_STR_EQ(r.reason, "Unauthorized");
    ASSERT_NOT_CONTAINS(r.message, "wrong-password-123");
    /* no credentials at all */
    t.basic_user = NULL;
    t.basic_password = NULL;
    probe1(&t, &r);
    ASSERT_STR_EQ(r.reason, "Unauthorized");
    /* credentials in the URL work and are redacted */
    u_info = op_asprintf("http://grafana:%s@127.0.0.1:%d", BASIC_PASS, ports[S_BASIC]);
    t.url = u_info;
    probe1(&t, &r);
    ASSERT_EQ(r.ok, 1);
    ASSERT_NOT_CONTAINS(r.message, BASIC_PASS);
    ASSERT_NOT_CONTAINS(r.message, "grafana:");
    ASSERT_CONTAINS(r.message, u);
    free(u);
    free(u_info);
}

TEST(bearer_token_right_wrong_and_never_in_messages)
{
    char *u;
    struct probe_target t = {.signal = PROBE_PROFILES};
    struct probe_result r;
    ASSERT_TRUE(setup());
    u = url_of(S_BEARER, "http", "127.0.0.1", NULL);
    t.url = u;
    t.bearer_token = BEARER_TOK;
    probe1(&t, &r);
    ASSERT_EQ(r.ok, 1);
    ASSERT_NOT_CONTAINS(r.message, BEARER_TOK);
    t.bearer_token = "tok-Wrong-Secret-000";
    probe1(&t, &r);
    ASSERT_EQ(r.ok, 0);
    ASSERT_STR_EQ(r.reason, "Unauthorized");
    ASSERT_EQ(r.http_status, 401);
    ASSERT_NOT_CONTAINS(r.message, "tok-Wrong-Secret-000");
    free(u);
}

/* ---- cache: 200 stacks × 4 signals against one stand-in ------------------- */

struct stack_worker {
    struct probe_engine *e;
    const char *base, *mim;
    int first, count;
    int ok, cached;
};

static void *stack_worker_main(void *arg)
{
    struct stack_worker *w = arg;
    int s, i;
    for (s = w->first; s < w->first + w->count; s++) {
        struct probe_target t[4];
        struct probe_result r[4];
        memset(t, 0, sizeof t);
        for (i = 0; i < 4; i++) {
            t[i].signal = i;
            t[i].url = i == 0 ? w->mim : w->base;
            t[i].tenant = "t1";
            t[i].timeout_ms = 10000;
        }
        if (probe_run(w->e, t, 4, r) != 0)
            continue;
        for (i = 0; i < 4; i++) {
            w->ok += r[i].ok;
            w->cached += r[i].cached;
        }
    }
    return NULL;
}

static json_t *counts(enum srv id)
{
    char *u = url_of(id, "http", "127.0.0.1", "/__count");
    struct op_buf b;
    json_t *j = NULL;
    op_buf_init(&b, 65536);
    if (http("GET", u, &b) == 200)
        j = json_loads(b.data, 0, NULL);
    op_buf_cleanup(&b);
    free(u);
    return j;
}

static void reset_counts(enum srv id)
{
    char *u = url_of(id, "http", "127.0.0.1", "/__reset");
    http("POST", u, NULL);
    free(u);
}

static long path_count(json_t *j, const char *key)
{
    return (long)json_integer_value(json_object_get(json_object_get(j, "paths"), key));
}

TEST(cache_200_stacks_x_4_signals_make_one_probe_per_signal)
{
    enum { NTHREADS = 8, NSTACKS = 200 };
    char *base, *mim;
    struct probe_engine *e = NULL;
    pthread_t th[NTHREADS];
    struct stack_worker w[NTHREADS];
    uint64_t started = 0, hits = 0;
    int i, ok = 0, cached = 0;
    json_t *j;

    ASSERT_TRUE(setup());
    base = url_of(S_ALL_T1, "http", "127.0.0.1", NULL);
    mim = url_of(S_ALL_T1, "http", "127.0.0.1", "/prometheus");
    reset_counts(S_ALL_T1);
    ASSERT_OK(probe_engine_new(&e, 64, 60000));
    for (i = 0; i < NTHREADS; i++) {
        w[i] = (struct stack_worker){.e = e, .base = base, .mim = mim,
                                     .first = i * (NSTACKS / NTHREADS), .count = NSTACKS / NTHREADS};
        pthread_create(&th[i], NULL, stack_worker_main, &w[i]);
    }
    for (i = 0; i < NTHREADS; i++) {
        pthread_join(th[i], NULL);
        ok += w[i].ok;
        cached += w[i].cached;
    }
    probe_engine_stats(e, &started, &hits);
    probe_engine_free(e);
    ASSERT_EQ(ok, NSTACKS * 4);
    ASSERT_EQ(started, 4);
    ASSERT_EQ(hits, NSTACKS * 4 - 4);
    ASSERT_EQ(cached, NSTACKS * 4 - 4);

    j = counts(S_ALL_T1);
    ASSERT_TRUE(j != NULL);
    /* one tenant-checked query per signal, in the stand-in's own count */
    ASSERT_EQ(path_count(j, "POST /prometheus/api/v1/query"), 1);
    ASSERT_EQ(path_count(j, "GET /api/search/tags"), 1);
    ASSERT_EQ(path_count(j, "GET /loki/api/v1/query"), 1);
    ASSERT_EQ(path_count(j, "POST /querier.v1.QuerierService/ProfileTypes"), 1);
    /* 4 probes × (ready, buildinfo, query) */
    ASSERT_EQ(json_integer_value(json_object_get(j, "total")), 12);
    json_decref(j);
    free(base);
    free(mim);
}

TEST(cache_entries_expire_after_ttl)
{
    char *base;
    struct probe_engine *e = NULL;
    struct probe_target t = {.signal = PROBE_TRACES, .tenant = "t1"};
    struct probe_result r;
    uint64_t started = 0, hits = 0;

    ASSERT_TRUE(setup());
    base = url_of(S_ALL_T1, "http", "127.0.0.1", NULL);
    t.url = base;
    ASSERT_OK(probe_engine_new(&e, 4, 300));
    ASSERT_OK(probe_run(e, &t, 1, &r));
    ASSERT_EQ(r.cached, 0);
    ASSERT_OK(probe_run(e, &t, 1, &r));
    ASSERT_EQ(r.cached, 1);
    ASSERT_EQ(r.ok, 1);
    /* a caller asking for fresher results than the TTL gets a new probe */
    t.max_age_ms = -1;
    ASSERT_OK(probe_run(e, &t, 1, &r));
    ASSERT_EQ(r.cached, 0);
    t.max_age_ms = 0;
    sleep_ms(400);
    ASSERT_OK(probe_run(e, &t, 1, &r));
    ASSERT_EQ(r.cached, 0);
    probe_engine_stats(e, &started, &hits);
    ASSERT_EQ(started, 3);
    ASSERT_EQ(hits, 1);
    probe_engine_free(e);
    free(base);
}

/* ---- isolation ------------------------------------------------------------ */

struct dead_arg {
    struct probe_engine *e;
    const char *url;
    struct probe_result r;
};

static void *dead_main(void *arg)
{
    struct dead_arg *d = arg;
    struct probe_target t = {.signal = PROBE_TRACES, .url = d->url, .timeout_ms = 2500};
    probe_run(d->e, &t, 1, &d->r);
    return NULL;
}

TEST(dead_backend_does_not_delay_other_stacks)
{
    char *slow, *good, *good_m;
    struct probe_engine *e = NULL;
    struct dead_arg d;
    pthread_t th;
    struct probe_target t[2];
    struct probe_result r[2];
    int64_t t0, took;

    ASSERT_TRUE(setup());
    slow = url_of(S_TEMPO_SLOW, "http", "127.0.0.1", NULL);
    good = url_of(S_ALL_T1, "http", "127.0.0.1", NULL);
    good_m = url_of(S_ALL_T1, "http", "127.0.0.1", "/prometheus");
    ASSERT_OK(probe_engine_new(&e, 64, 0));
    d = (struct dead_arg){.e = e, .url = slow};
    pthread_create(&th, NULL, dead_main, &d);
    sleep_ms(100);
    /* another stack, another worker: finishes long before the dead one */
    memset(t, 0, sizeof t);
    t[0] = (struct probe_target){.signal = PROBE_LOGS, .url = good, .tenant = "t1", .timeout_ms = 2500};
    t[1] = (struct probe_target){.signal = PROBE_METRICS, .url = good_m, .tenant = "t1", .timeout_ms = 2500};
    t0 = op_mono_ms();
    ASSERT_OK(probe_run(e, t, 2, r));
    took = op_mono_ms() - t0;
    ASSERT_EQ(r[0].ok + r[1].ok, 2);
    ASSERT_TRUE(took < 1000);
    pthread_join(th, NULL);
    ASSERT_STR_EQ(d.r.reason, "Timeout");
    /* and inside one stack, the live backend's latency is its own */
    t[0] = (struct probe_target){.signal = PROBE_TRACES, .url = slow, .timeout_ms = 1000};
    t[1] = (struct probe_target){.signal = PROBE_LOGS, .url = good, .tenant = "t1", .timeout_ms = 1000};
    t0 = op_mono_ms();
    ASSERT_OK(probe_run(e, t, 2, r));
    took = op_mono_ms() - t0;
    ASSERT_STR_EQ(r[0].reason, "Timeout");
    ASSERT_EQ(r[1].ok, 1);
    ASSERT_TRUE(r[1].latency_ms < 500);
    ASSERT_TRUE(took < 1000 + 400);
    probe_engine_free(e);
    free(slow);
    free(good);
    free(good_m);
}

TEST(max_in_flight_one_still_completes_everything)
{
    char *base, *mim;
    struct probe_engine *e = NULL;
    struct probe_target t[4];
    struct probe_result r[4];
    int i;
    ASSERT_TRUE(setup());
    base = url_of(S_ALL_T1, "http", "127.0.0.1", NULL);
    mim = url_of(S_ALL_T1, "http", "127.0.0.1", "/prometheus");
    memset(t, 0, sizeof t);
    for (i = 0; i < 4; i++) {
        t[i].signal = i;
        t[i].url = i == 0 ? mim : base;
        t[i].tenant = "t1";
    }
    ASSERT_OK(probe_engine_new(&e, 1, 0));
    ASSERT_OK(probe_run(e, t, 4, r));
    probe_engine_free(e);
    ASSERT_EQ(r[0].ok + r[1].ok + r[2].ok + r[3].ok, 4);
    free(base);
    free(mim);
}

TEST_MAIN()
