/* replay.c — standalone driver for the fuzz targets (libgit2-style): runs
 * LLVMFuzzerTestOneInput once per file of the given corpus directories or
 * files, so the stored corpora (seeds and crash regressions) run under the
 * normal gcc build in ctest -L unit, and under ASan/valgrind there. Prints
 * "N passed, 0 failed"; a failing input crashes (the name is printed first). */
#include "fuzz.h"

#include <dirent.h>
#include <string.h>
#include <sys/stat.h>

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long n;
    size_t got;

    if (!f)
        return -1;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return -1;
    }
    /* exactly n bytes (libFuzzer passes no terminator): ASan sees overreads */
    buf = malloc(n ? (size_t)n : 1);
    if (!buf) {
        fclose(f);
        return -1;
    }
    got = fread(buf, 1, (size_t)n, f);
    fclose(f);
    if (got != (size_t)n) {
        free(buf);
        return -1;
    }
    fprintf(stderr, "replay: %s\n", path);
    LLVMFuzzerTestOneInput(buf, got);
    free(buf);
    return 0;
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    size_t passed = 0, failed = 0;

    for (int i = 1; i < argc; i++) {
        struct stat sb;
        if (stat(argv[i], &sb) != 0) {
            fprintf(stderr, "replay: %s: not found\n", argv[i]);
            failed++;
            continue;
        }
        if (S_ISDIR(sb.st_mode)) {
            DIR *d = opendir(argv[i]);
            struct dirent *de;
            char **names = NULL;
            size_t n = 0, cap = 0;
            while (d && (de = readdir(d)) != NULL) {
                if (de->d_name[0] == '.' || strcmp(de->d_name, "README.md") == 0)
                    continue;
                if (n == cap) {
                    cap = cap ? cap * 2 : 64;
                    names = realloc(names, cap * sizeof *names);
                    if (!names)
                        abort();
                }
                names[n] = malloc(strlen(argv[i]) + strlen(de->d_name) + 2);
                if (!names[n])
                    abort();
                sprintf(names[n], "%s/%s", argv[i], de->d_name);
                n++;
            }
            if (d)
                closedir(d);
            if (names)
                qsort(names, n, sizeof *names, cmp);
            for (size_t k = 0; k < n; k++) {
                if (run_file(names[k]) == 0)
                    passed++;
                else
                    failed++;
                free(names[k]);
            }
            free(names);
            if (n == 0) {
                fprintf(stderr, "replay: %s: empty corpus\n", argv[i]);
                failed++;
            }
        } else if (run_file(argv[i]) == 0) {
            passed++;
        } else {
            failed++;
        }
    }
    printf("%zu passed, %zu failed\n", passed, failed);
    return failed ? 1 : 0;
}
