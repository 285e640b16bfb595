/*
 * npc_kg.cohort._ntscan: the per-line and per-node loops of the local engine's cohort path in C.
 *
 * Optional accelerator. Each function does exactly what a pure-Python reference does, and the
 * tests compare the two on random and mutated input (tests/cohort/test_ntscan.py):
 *
 * - scan(block, pos, number, linked, data, runs, flags, marks, check) reads the lines of a block into
 *   the current patient record while their subject (as parsed) is linked to it, as
 *   npc_kg.cohort.records.scan does;
 * - index(data, idx, memo, term, plain, needed, inverse, every, subclass, not_strict, unsupported, firsts,
 *   typed, type) reads strict one-triple-per-line N-Triples into the closure evaluator's index and
 *   notes the nodes its targets need, as
 *   npc_kg.shacl.closures.ClosureEvaluator.index_terms(npc_kg.cohort.ntriples.strict_triples(data))
 *   does. Every term is decoded by the Python function `term` (memoised in `memo`), so what counts
 *   as strict is decided in one place, in Python;
 * - sid(state, idx, node) and focus_key(state, idx, node) sign nodes for the evaluator's memos, as
 *   npc_kg.shacl.closures._Linked._sid and _focus_key do, on the same dicts (`state`).
 *
 * What each buys end to end is measured by benchmarks/native_decision.py (benchmarks/README.md).
 *
 * No clinical knowledge lives here: no IRI, criterion or threshold.
 */
#define PY_SSIZE_T_CLEAN
#ifndef NPC_KG_SOURCE_SHA256
#define NPC_KG_SOURCE_SHA256 "unknown" /* hatch_build.py passes the SHA-256 of this file */
#endif
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* ------------------------------------------------------------------------------------------ */
/* token caches                                                                                */
/* ------------------------------------------------------------------------------------------ */

/* A cohort repeats a few hundred tokens (predicates, classes, status values, common literals)
 * millions of times, between tokens seen once or twice (patient and finding IRIs). A token cache
 * maps the bytes of a token to what it decodes to without building a bytes object for it: a
 * direct-mapped table in which an entry that has been hit is not replaced by a newcomer until a
 * miss on its slot has worn its hits off, so one-off tokens do not evict the repeated ones.
 * Entries hold their own references; a cache only ever holds what the uncached path returns for
 * the same token, so it never changes an answer: the decoders every caller passes
 * (npc_kg.cohort.records.readable to scan, npc_kg.cohort.ntriples.term to index) are pure
 * functions of the token. 2,048 slots hold a cohort's repeated tokens; a batch's one-off IRIs pass
 * through (figures in benchmarks/README.md). */
#define CACHE_BITS 11
#define CACHE_SLOTS (1 << CACHE_BITS)
#define CACHE_HITS_MAX 8

typedef struct {
    uint64_t hash;
    PyObject *token; /* bytes; NULL if the slot is empty */
    PyObject *value;
    int hits;
} Slot;

typedef struct {
    Slot slots[CACHE_SLOTS];
} Cache;

static Cache scan_keys;  /* scan: object token -> its key (bytes) */
static Cache index_terms; /* index: token -> its index term */

static uint64_t hash_token(const char *p, Py_ssize_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ (uint64_t)n;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xFF51AFD7ED558CCDULL;
        h ^= h >> 32;
        p += 8, n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, p, (size_t)n);
    h = (h ^ w) * 0xC4CEB9FE1A85EC53ULL;
    return h ^ (h >> 29);
}

/* The cached value of token p[0:n] (a new reference), or NULL (no exception) on a miss. */
static PyObject *cache_get(Cache *cache, const char *p, Py_ssize_t n, uint64_t hash) {
    Slot *slot = &cache->slots[hash & (CACHE_SLOTS - 1)];
    if (slot->token != NULL && slot->hash == hash && PyBytes_GET_SIZE(slot->token) == n &&
        memcmp(PyBytes_AS_STRING(slot->token), p, (size_t)n) == 0) {
        if (slot->hits < CACHE_HITS_MAX) slot->hits++;
        return Py_NewRef(slot->value);
    }
    return NULL;
}

/* Offer token p[0:n] -> value to the cache after a miss: taken if the slot is empty or its
 * entry's hits are worn off (each miss on an entry that has hits takes one away). `token` is a
 * bytes object holding p[0:n] if the caller has one, else NULL. Returns -1 if out of memory. */
static int cache_offer(Cache *cache, uint64_t hash, const char *p, Py_ssize_t n, PyObject *token, PyObject *value) {
    Slot *slot = &cache->slots[hash & (CACHE_SLOTS - 1)];
    if (slot->token != NULL && slot->hits > 0) {
        slot->hits--;
        return 0;
    }
    token = token != NULL ? Py_NewRef(token) : PyBytes_FromStringAndSize(p, n);
    if (token == NULL) return -1;
    PyObject *old_token = slot->token, *old_value = slot->value;
    slot->hash = hash;
    slot->token = token;
    slot->value = Py_NewRef(value);
    slot->hits = 0;
    Py_XDECREF(old_token);
    Py_XDECREF(old_value);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* scan: the per-line loop of the record reader                                                */
/* ------------------------------------------------------------------------------------------ */

/* N-Triples white space around terms, and what a line is stripped of. */
static inline int is_space(unsigned char c) { return c == ' ' || c == '\t'; }

/* Forward declarations: the fast paths of the term decoder (below). */
static int simple_iri(const char *p, Py_ssize_t n);
static int simple_blank(const char *p, Py_ssize_t n);

/* The key of an IRI or blank node token: the token itself on the fast path (a plain IRI, an ASCII
 * label), else check(token) (npc_kg.cohort.records.readable: bytes or None). New reference. */
static PyObject *token_key(const char *p, Py_ssize_t n, PyObject *check) {
    if ((n >= 2 && p[0] == '<' && p[n - 1] == '>' && simple_iri(p + 1, n - 2)) || simple_blank(p, n))
        return PyBytes_FromStringAndSize(p, n);
    PyObject *token = PyBytes_FromStringAndSize(p, n);
    if (token == NULL) return NULL;
    PyObject *key = PyObject_CallOneArg(check, token);
    Py_DECREF(token);
    return key;
}

/* A blank node token [p, p + n) without its trailing dots (as the Python twin's rstrip(b".")). */
static Py_ssize_t without_dots(const char *p, Py_ssize_t n) {
    while (n > 2 && p[n - 1] == '.') n--;
    return n;
}

static int same_bytes(PyObject *key, PyObject *mark) {
    return key != Py_None && PyBytes_GET_SIZE(key) == PyBytes_GET_SIZE(mark) &&
           memcmp(PyBytes_AS_STRING(key), PyBytes_AS_STRING(mark), (size_t)PyBytes_GET_SIZE(mark)) == 0;
}

static int same_text(const char *p, Py_ssize_t n, PyObject *mark) {
    return n == PyBytes_GET_SIZE(mark) && memcmp(p, PyBytes_AS_STRING(mark), (size_t)n) == 0;
}

/* The record's last run of lines (runs: pairs first line, count), kept in C while a scan call
 * reads lines into it and written back to the list once (flush_run) when the call returns. */
typedef struct {
    Py_ssize_t first, count;
    int listed; /* the run is the list's last pair (else it is new) */
} Run;

static int load_run(PyObject *runs, Run *run) {
    Py_ssize_t size = PyList_GET_SIZE(runs);
    run->first = run->count = 0, run->listed = 0;
    if (size >= 2) {
        run->first = PyLong_AsSsize_t(PyList_GET_ITEM(runs, size - 2));
        run->count = PyLong_AsSsize_t(PyList_GET_ITEM(runs, size - 1));
        if (PyErr_Occurred()) return -1;
        run->listed = 1;
    }
    return 0;
}

static int flush_run(PyObject *runs, Run *run) {
    if (run->count == 0) return 0;
    PyObject *count = PyLong_FromSsize_t(run->count);
    if (count == NULL) return -1;
    if (run->listed) return PyList_SetItem(runs, PyList_GET_SIZE(runs) - 1, count); /* steals */
    PyObject *first = PyLong_FromSsize_t(run->first);
    int rc = first == NULL || PyList_Append(runs, first) < 0 || PyList_Append(runs, count) < 0 ? -1 : 0;
    Py_XDECREF(first);
    Py_DECREF(count);
    if (rc == 0) run->listed = 1;
    return rc;
}

/* The length of the IRI token <...> at line[i] (through its '>'), or 0 if none starts there. */
static Py_ssize_t iri_token(const char *line, Py_ssize_t i, Py_ssize_t n) {
    if (i >= n || line[i] != '<') return 0;
    const char *close = memchr(line + i + 1, '>', (size_t)(n - i - 1));
    return close == NULL ? 0 : (close - line) + 1 - i;
}

/* runs += (number, 1), or runs[-1] += 1 if the last run ends right before this line. */
static int add_run(PyObject *runs, Run *run, Py_ssize_t number) {
    if (run->count > 0 && run->first + run->count == number) {
        run->count++;
        return 0;
    }
    if (flush_run(runs, run) < 0) return -1;
    run->first = number, run->count = 1, run->listed = 0;
    return 0;
}

static PyObject *scan_result(Py_ssize_t pos, Py_ssize_t number, int event, PyObject *key) {
    return Py_BuildValue("(nniO)", pos, number, event, key == NULL ? Py_None : key);
}

PyDoc_STRVAR(scan_doc,
"scan(block, pos, number, linked, data, runs, flags, marks, check) -> (pos, number, event, key)\n\n"
"Read the lines of ``block`` into the current record while their subject is linked to it, exactly as\n"
"npc_kg.cohort.records.scan does (see there).");

static PyObject *scan(PyObject *Py_UNUSED(module), PyObject *args) {
    Py_buffer view;
    Py_ssize_t pos, number;
    PyObject *linked, *data, *runs, *flags, *marks, *check;
    if (!PyArg_ParseTuple(args, "y*nnOO!O!O!O!O:scan", &view, &pos, &number, &linked, &PyByteArray_Type, &data,
                          &PyList_Type, &runs, &PyList_Type, &flags, &PyTuple_Type, &marks, &check))
        return NULL;
    PyObject *result = NULL, *subject_key = NULL;
    Run run = {0, 0, 0};
    if (PyList_GET_SIZE(flags) != 3 || PyTuple_GET_SIZE(marks) != 3 || (linked != Py_None && !PyAnySet_Check(linked)) ||
        !PyBytes_Check(PyTuple_GET_ITEM(marks, 0)) || !PyBytes_Check(PyTuple_GET_ITEM(marks, 1)) ||
        !PyBytes_Check(PyTuple_GET_ITEM(marks, 2))) {
        PyErr_SetString(PyExc_ValueError, "scan: malformed arguments");
        goto done;
    }
    if (load_run(runs, &run) < 0) goto done;
    PyObject *rdf_type = PyTuple_GET_ITEM(marks, 0), *patient = PyTuple_GET_ITEM(marks, 1);
    PyObject *has_finding = PyTuple_GET_ITEM(marks, 2);
    const char *block = view.buf;
    Py_ssize_t end = view.len;
    /* the last subject token read and its key (borrowed from subject_key): lines of one node follow each other */
    const char *last = NULL;
    Py_ssize_t last_n = 0;
    while (pos < end) {
        Py_ssize_t start = pos;
        const char *nl = memchr(block + pos, '\n', (size_t)(end - pos));
        if (nl == NULL) {
            PyErr_SetString(PyExc_ValueError, "scan: the block must end with a newline");
            goto done;
        }
        pos = (nl - block) + 1;
        number++;
        const char *line = block + start;
        Py_ssize_t n = (nl - block) - start;
        while (n > 0 && (is_space((unsigned char)line[0]) || line[0] == '\r')) line++, n--;
        while (n > 0 && (is_space((unsigned char)line[n - 1]) || line[n - 1] == '\r')) n--;
        if (n == 0 || line[0] == '#') continue;
        /* the subject token: <[^>]*> or _:[^ \t<]* (trailing dots dropped) */
        Py_ssize_t s_n, after;
        if (line[0] == '<') {
            const char *close = memchr(line + 1, '>', (size_t)(n - 1));
            if (close == NULL) {
                result = scan_result(pos, number, 2, NULL);
                goto done;
            }
            s_n = after = (close - line) + 1;
        } else if (n >= 2 && line[0] == '_' && line[1] == ':') {
            after = 2;
            while (after < n && !is_space((unsigned char)line[after]) && line[after] != '<') after++;
            s_n = without_dots(line, after);
        } else {
            result = scan_result(pos, number, 2, NULL);
            goto done;
        }
        int known;
        if (subject_key != NULL && s_n == last_n && memcmp(line, last, (size_t)s_n) == 0) {
            known = 1; /* the same subject as the line before, which was linked */
        } else {
            Py_CLEAR(subject_key);
            subject_key = token_key(line, s_n, check);
            if (subject_key == NULL) goto done;
            if (subject_key == Py_None) {
                result = scan_result(pos, number, 2, NULL);
                goto done;
            }
            if (linked == Py_None) {
                known = 0;
            } else {
                known = PySet_Contains(linked, subject_key);
                if (known < 0) goto done;
            }
            if (!known) {
                result = scan_result(start, number - 1, 1, subject_key);
                goto done;
            }
            last = line, last_n = s_n;
        }
        /* the line is the record's */
        Py_ssize_t size = PyByteArray_GET_SIZE(data);
        if (PyByteArray_Resize(data, size + n + 1) < 0) goto done;
        char *buffer = PyByteArray_AS_STRING(data);
        memcpy(buffer + size, line, (size_t)n);
        buffer[size + n] = '\n';
        if (add_run(runs, &run, number) < 0) goto done;
        /* [ \t]*(<[^>]*>)?[ \t]*(?:(<[^>]*>|_:[^ \t<]*)|(")) */
        Py_ssize_t i = after, p0 = -1, p_n = 0, o0 = -1, o_n = 0;
        int literal = 0;
        while (i < n && is_space((unsigned char)line[i])) i++;
        if ((p_n = iri_token(line, i, n)) > 0) p0 = i, i += p_n;
        while (i < n && is_space((unsigned char)line[i])) i++;
        if (i < n && line[i] == '<') {
            if ((o_n = iri_token(line, i, n)) > 0) o0 = i;
        } else if (i + 1 < n && line[i] == '_' && line[i + 1] == ':') {
            Py_ssize_t j = i + 2;
            while (j < n && !is_space((unsigned char)line[j]) && line[j] != '<') j++;
            o0 = i;
            o_n = without_dots(line + i, j - i);
        } else if (i < n && line[i] == '"') {
            literal = 1;
        }
        PyObject *o_key = NULL; /* NULL: no key (a literal, or missing, or unreadable) */
        if (!literal) {
            if (o0 < 0) {
                if (PyList_SetItem(flags, 0, Py_NewRef(Py_True)) < 0) goto done;
            } else {
                uint64_t hash = hash_token(line + o0, o_n);
                o_key = cache_get(&scan_keys, line + o0, o_n, hash);
                if (o_key == NULL) {
                    o_key = token_key(line + o0, o_n, check);
                    if (o_key == NULL) goto done;
                    /* on the fast path the key is the token itself */
                    if (o_key != Py_None &&
                        cache_offer(&scan_keys, hash, line + o0, o_n, same_text(line + o0, o_n, o_key) ? o_key : NULL,
                                    o_key) < 0) {
                        Py_DECREF(o_key);
                        goto done;
                    }
                }
                if (o_key == Py_None) {
                    Py_CLEAR(o_key);
                    if (PyList_SetItem(flags, 0, Py_NewRef(Py_True)) < 0) goto done;
                } else if (PySet_Add(linked, o_key) < 0) {
                    Py_DECREF(o_key);
                    goto done;
                }
            }
        }
        if (p0 < 0) {
            if (PyList_SetItem(flags, 0, Py_NewRef(Py_True)) < 0) { Py_XDECREF(o_key); goto done; }
        } else if (same_text(line + p0, p_n, rdf_type) || same_text(line + p0, p_n, has_finding) ||
                   memchr(line + p0, '\\', (size_t)p_n) != NULL) {
            PyObject *p_key = token_key(line + p0, p_n, check);
            if (p_key == NULL) { Py_XDECREF(o_key); goto done; }
            int rc = 0;
            if (same_bytes(p_key, has_finding)) {
                rc = PyList_SetItem(flags, 2, Py_NewRef(Py_True));
            } else if (same_bytes(p_key, rdf_type) && o_key != NULL && same_bytes(o_key, patient)) {
                rc = PyList_SetItem(flags, 1, Py_NewRef(Py_True));
            }
            Py_DECREF(p_key);
            if (rc < 0) { Py_XDECREF(o_key); goto done; }
        }
        Py_XDECREF(o_key);
    }
    result = scan_result(pos, number, 0, NULL);
done:
    if (result != NULL && flush_run(runs, &run) < 0) Py_CLEAR(result);
    Py_XDECREF(subject_key);
    PyBuffer_Release(&view);
    return result;
}

/* ------------------------------------------------------------------------------------------ */
/* index                                                                                       */
/* ------------------------------------------------------------------------------------------ */

/* Characters an IRI may hold, by part, for the fast path below (ASCII only, no '%'), as bits of
 * one table: unreserved, sub-delims, ':' and '@' (RFC 3986 pchar); a scheme's characters; a host
 * name's characters (letters, digits, '-', '.'). Paths add '/', queries and fragments '/' and '?'. */
enum { PCHAR = 1, SCHEME = 2, HOST = 4, ALPHA = 8 };
static unsigned char iri_chars[256];

static void init_iri_chars(void) {
    for (int c = 0; c < 256; c++) {
        int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'), digit = c >= '0' && c <= '9';
        unsigned char bits = 0;
        if (alpha || digit || strchr("-._~!$&'()*+,;=:@", c) != NULL) bits |= PCHAR;
        if (alpha || digit || c == '+' || c == '-' || c == '.') bits |= SCHEME;
        if (alpha || digit || c == '-' || c == '.') bits |= HOST;
        if (alpha) bits |= ALPHA;
        iri_chars[c] = c == 0 ? 0 : bits;
    }
}

/* 1 if the IRI text p[0:n] is in a conservative subset that every RFC 3987 parser (and so
 * pyoxigraph.NamedNode) accepts unchanged: scheme "://" host [path] ["?" query] ["#" fragment],
 * with an ASCII host name and no percent-encoding, port, user or IP literal. Anything else goes
 * to the Python decoder. */
static int simple_iri(const char *text, Py_ssize_t n) {
    const unsigned char *p = (const unsigned char *)text;
    Py_ssize_t i = 0;
    if (n == 0 || !(iri_chars[p[0]] & ALPHA)) return 0;
    for (i = 1; i < n && p[i] != ':'; i++)
        if (!(iri_chars[p[i]] & SCHEME)) return 0;
    if (i + 2 >= n || p[i + 1] != '/' || p[i + 2] != '/') return 0;
    Py_ssize_t host = i + 3;
    for (i = host; i < n && p[i] != '/' && p[i] != '?' && p[i] != '#'; i++)
        if (!(iri_chars[p[i]] & HOST)) return 0;
    if (i == host) return 0;
    for (; i < n && p[i] != '?' && p[i] != '#'; i++)
        if (!(iri_chars[p[i]] & PCHAR) && p[i] != '/') return 0;
    if (i < n && p[i] == '?')
        for (i++; i < n && p[i] != '#'; i++)
            if (!(iri_chars[p[i]] & PCHAR) && p[i] != '/' && p[i] != '?') return 0;
    if (i < n && p[i] == '#')
        for (i++; i < n; i++)
            if (!(iri_chars[p[i]] & PCHAR) && p[i] != '/' && p[i] != '?') return 0;
    return 1;
}

/* 1 if p[0:n] is a blank node as the Python reader accepts it:
 * rb"_:[A-Za-z0-9_](?:[A-Za-z0-9_.\-]*[A-Za-z0-9_\-])?" */
static int simple_blank(const char *p, Py_ssize_t n) {
    if (n < 3 || p[0] != '_' || p[1] != ':') return 0;
    for (Py_ssize_t i = 2; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        int word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        if (!(word || ((c == '.' || c == '-') && i > 2))) return 0;
    }
    return p[n - 1] != '.';
}

PyDoc_STRVAR(fast_term_doc,
"fast_term(token) -> str | None\n\n"
"The index term of an N-Triples IRI or blank node token decoded by the C fast path, or None if the\n"
"token is outside the fast path's subset (the Python decoder then decides).");

/* The index term of an IRI or blank node token on the fast path (new reference), or NULL without
 * an exception set if the token is outside it. */
static PyObject *decode_fast(const char *p, Py_ssize_t n) {
    if (n >= 2 && p[0] == '<' && p[n - 1] == '>' && simple_iri(p + 1, n - 2)) return PyUnicode_DecodeASCII(p + 1, n - 2, NULL);
    if (simple_blank(p, n)) return PyUnicode_DecodeASCII(p, n, NULL);
    return NULL;
}

static PyObject *fast_term(PyObject *Py_UNUSED(module), PyObject *arg) {
    if (!PyBytes_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "fast_term: bytes expected");
        return NULL;
    }
    PyObject *value = decode_fast(PyBytes_AS_STRING(arg), PyBytes_GET_SIZE(arg));
    if (value == NULL && !PyErr_Occurred()) Py_RETURN_NONE;
    return value;
}

/* Whether p[0:n] is a plain literal token on the fast path: "..." holding no '"', '\\', CR or LF
 * (npc_kg.cohort.ntriples' literal pattern with neither datatype nor language tag). */
static int plain_literal(const char *p, Py_ssize_t n) {
    if (n < 2 || p[0] != '"' || p[n - 1] != '"') return 0;
    for (Py_ssize_t i = 1; i < n - 1; i++) {
        char c = p[i];
        if (c == '"' || c == '\\' || c == '\r' || c == '\n') return 0;
    }
    return 1;
}

/* The index term of token p[0:n] (a new reference): from the token cache, else memo[token], else
 * the fast path's term (an IRI or blank node; a plain literal through plain(text)) or term(token),
 * kept in memo. A token found in memo has been seen before, so it is offered to the cache. */
static PyObject *lookup(PyObject *memo, PyObject *term, PyObject *plain, const char *p, Py_ssize_t n) {
    uint64_t hash = hash_token(p, n);
    PyObject *value = cache_get(&index_terms, p, n, hash);
    if (value != NULL) return value;
    PyObject *key = PyBytes_FromStringAndSize(p, n);
    if (key == NULL) return NULL;
    value = PyDict_GetItemWithError(memo, key);
    if (value != NULL) {
        Py_INCREF(value);
        if (cache_offer(&index_terms, hash, p, n, key, value) < 0) Py_CLEAR(value);
    } else if (!PyErr_Occurred()) {
        value = decode_fast(p, n);
        if (value == NULL && !PyErr_Occurred() && plain_literal(p, n)) {
            PyObject *text = PyUnicode_DecodeUTF8(p + 1, n - 2, NULL);
            if (text == NULL) {
                PyErr_Clear(); /* not UTF-8: term() decides (and refuses it) */
            } else {
                value = PyObject_CallOneArg(plain, text);
                Py_DECREF(text);
                if (value == NULL) {
                    Py_DECREF(key);
                    return NULL;
                }
            }
        }
        if (value == NULL && !PyErr_Occurred()) value = PyObject_CallOneArg(term, key);
        if (value != NULL && PyDict_SetItem(memo, key, value) < 0) Py_CLEAR(value);
    }
    Py_DECREF(key);
    return value;
}

/* values = edges[key]; values.append(item) unless item in values. Returns 2 if edges[key] is
 * new, 1 if item was appended, 0 if it was there already, -1 on error. */
static int add_edge(PyObject *idx, PyObject *node, PyObject *key, PyObject *item) {
    PyObject *edges = PyDict_GetItemWithError(idx, node);
    if (edges == NULL) {
        if (PyErr_Occurred()) return -1;
        edges = PyDict_New();
        if (edges == NULL) return -1;
        int rc = PyDict_SetItem(idx, node, edges);
        Py_DECREF(edges);
        if (rc < 0) return -1;
    }
    PyObject *values = PyDict_GetItemWithError(edges, key);
    if (values == NULL) {
        if (PyErr_Occurred()) return -1;
        values = PyList_New(1);
        if (values == NULL) return -1;
        Py_INCREF(item);
        PyList_SET_ITEM(values, 0, item);
        int rc = PyDict_SetItem(edges, key, values);
        Py_DECREF(values);
        return rc < 0 ? -1 : 2;
    }
    int found = PySequence_Contains(values, item);
    if (found < 0) return -1;
    return found ? 0 : (PyList_Append(values, item) < 0 ? -1 : 1);
}

/* watch[key].append(node) if watch has key (a list). */
static int note(PyObject *watch, PyObject *key, PyObject *node) {
    PyObject *list = PyDict_GetItemWithError(watch, key);
    if (list == NULL) return PyErr_Occurred() ? -1 : 0;
    return PyList_Append(list, node);
}

PyDoc_STRVAR(index_doc,
"index(data, idx, memo, term, plain, needed, inverse, every, subclass, not_strict, unsupported, firsts, typed, type) -> idx\n\n"
"Fill ``idx`` (an empty dict) with the local engine's index of strict N-Triples ``data``; raises\n"
"``not_strict`` if a line is not in the strict form (see npc_kg.cohort.ntriples; ``term`` decodes a\n"
"token, ``plain`` the text of a plain literal), ``unsupported``\n"
"for an unneeded ``subclass`` triple. ``inverse`` maps each inverse-indexed predicate to its\n"
"``^predicate`` key. ``firsts`` maps edge keys to lists: a node is appended when it gets its first\n"
"edge of that key; ``typed`` maps classes to lists: a node is appended when it gets that ``type``.");

static PyObject *index_nt(PyObject *Py_UNUSED(module), PyObject *args) {
    Py_buffer view;
    PyObject *idx, *memo, *term, *plain, *needed, *inverse, *subclass, *not_strict, *unsupported, *firsts, *typed, *type;
    int every;
    if (!PyArg_ParseTuple(args, "y*O!O!OOOO!pUOOO!O!U:index", &view, &PyDict_Type, &idx, &PyDict_Type, &memo, &term,
                          &plain, &needed, &PyDict_Type, &inverse, &every, &subclass, &not_strict, &unsupported, &PyDict_Type,
                          &firsts, &PyDict_Type, &typed, &type))
        return NULL;
    Py_INCREF(idx);
    PyObject *last_s = NULL, *p = NULL, *o = NULL; /* the last subject's term is kept: lines of a node follow each other */
    const char *last_text = NULL;
    Py_ssize_t last_n = 0;
    const char *data = view.buf;
    Py_ssize_t size = view.len, start = 0;
    while (start < size) {
        const char *nl = memchr(data + start, '\n', (size_t)(size - start));
        Py_ssize_t end = nl ? nl - data : size; /* the line is data[start:end], without '\n' */
        const char *line = data + start;
        Py_ssize_t n = end - start;
        start = end + 1;
        if (n == 0) continue;
        const char *sp1 = memchr(line, ' ', (size_t)n);
        const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(line + n - sp1 - 1)) : NULL;
        if (sp2 == NULL || n < 2 || line[n - 2] != ' ' || line[n - 1] != '.') goto not_strict_line;
        Py_ssize_t rest = (line + n) - (sp2 + 1);
        Py_ssize_t olen = rest > 2 ? rest - 2 : 0;
        if (last_s == NULL || sp1 - line != last_n || memcmp(line, last_text, (size_t)last_n) != 0) {
            Py_CLEAR(last_s);
            last_s = lookup(memo, term, plain, line, sp1 - line);
            if (last_s == NULL) goto fail;
            last_text = line, last_n = sp1 - line;
        }
        PyObject *s = last_s;
        p = lookup(memo, term, plain, sp1 + 1, sp2 - sp1 - 1);
        if (p == NULL) goto fail;
        o = lookup(memo, term, plain, sp2 + 1, olen);
        if (o == NULL) goto fail;
        /* subject and predicate must be IRIs or blank nodes (str), the predicate not "_:label" */
        if (!PyUnicode_CheckExact(s) || !PyUnicode_CheckExact(p)) goto not_strict_line;
        if (PyUnicode_GET_LENGTH(p) >= 2 && PyUnicode_READ_CHAR(p, 0) == '_' && PyUnicode_READ_CHAR(p, 1) == ':')
            goto not_strict_line;
        int wanted = every;
        if (!wanted) {
            wanted = PySet_Contains(needed, p);
            if (wanted < 0) goto fail;
            if (!wanted) {
                int same = PyUnicode_Compare(p, subclass);
                if (same == -1 && PyErr_Occurred()) goto fail;
                if (same == 0) {
                    PyErr_SetString(unsupported, "the data has rdfs:subClassOf triples");
                    goto fail;
                }
            }
        }
        if (wanted) {
            int added = add_edge(idx, s, p, o);
            if (added < 0) goto fail;
            if (added == 2 && note(firsts, p, s) < 0) goto fail;
            if (added > 0 && PyDict_GET_SIZE(typed) > 0) {
                int is_type = p == type ? 1 : PyUnicode_Compare(p, type) == 0;
                if (PyErr_Occurred()) goto fail;
                if (is_type && note(typed, o, s) < 0) goto fail;
            }
            PyObject *back = PyDict_GetItemWithError(inverse, p);
            if (back == NULL && PyErr_Occurred()) goto fail;
            if (back != NULL) {
                added = add_edge(idx, o, back, s);
                if (added < 0) goto fail;
                if (added == 2 && note(firsts, back, o) < 0) goto fail;
            }
        }
        Py_CLEAR(p);
        Py_CLEAR(o);
    }
    Py_XDECREF(last_s);
    PyBuffer_Release(&view);
    return idx;
not_strict_line:
    PyErr_SetNone(not_strict);
fail:
    Py_XDECREF(idx);
    Py_XDECREF(last_s);
    Py_XDECREF(p);
    Py_XDECREF(o);
    PyBuffer_Release(&view);
    return NULL;
}


/* ------------------------------------------------------------------------------------------ */
/* signatures: the memo keys of the closure evaluator (npc_kg.shacl.closures._Linked)            */
/* ------------------------------------------------------------------------------------------ */

/* The state tuple: the evaluator's batch_sids, interned, constants, whether the shapes test strings,
 * shallow, _literal_sid, _Cycle, behaviours, behaviour and whether focus keys abstract by behaviour. */
enum { SG_SIDS, SG_INTERNED, SG_CONSTANTS, SG_STRING_TESTS, SG_SHALLOW, SG_LITERAL, SG_CYCLE, SG_BEHAVIOURS,
       SG_BEHAVIOUR, SG_BEHAVIOUR_MODE, SG_SIZE };

static PyObject *str_blank, *str_iri, *str_k; /* "_", "I", "K" */

static int is_blank_node(PyObject *node) {
    return PyUnicode_GET_LENGTH(node) >= 2 && PyUnicode_READ_CHAR(node, 0) == '_' && PyUnicode_READ_CHAR(node, 1) == ':';
}

static int is_inverse_key(PyObject *pred) {
    return PyUnicode_Check(pred) && PyUnicode_GET_LENGTH(pred) >= 1 && PyUnicode_READ_CHAR(pred, 0) == '^';
}

/* The next forward edge of a node's edges dict (``^`` keys skipped): 1 and its predicate and
 * values (a list, borrowed), 0 at the end, -1 if the values are not a list. */
static int next_edge(PyObject *edges, Py_ssize_t *pos, PyObject **pred, PyObject **values) {
    while (PyDict_Next(edges, pos, pred, values)) {
        if (is_inverse_key(*pred)) continue;
        if (!PyList_Check(*values)) {
            PyErr_SetString(PyExc_TypeError, "index values must be lists");
            return -1;
        }
        return 1;
    }
    return 0;
}

static Py_ssize_t intern_key(PyObject *interned, PyObject *key, int *fresh) {
    PyObject *found = PyDict_GetItemWithError(interned, key);
    *fresh = 0;
    if (found != NULL) return PyLong_AsSsize_t(found);
    if (PyErr_Occurred()) return -1;
    Py_ssize_t value = PyDict_GET_SIZE(interned);
    PyObject *number = PyLong_FromSsize_t(value);
    if (number == NULL) return -1;
    int rc = PyDict_SetItem(interned, key, number);
    Py_DECREF(number);
    *fresh = 1;
    return rc < 0 ? -1 : value;
}

/* batch_sids[node] as a C integer: -2 if absent, -1 in progress; -3 on error. */
static Py_ssize_t known_sid(PyObject *sids, PyObject *node) {
    PyObject *known = PyDict_GetItemWithError(sids, node);
    if (known == NULL) return PyErr_Occurred() ? -3 : -2;
    Py_ssize_t value = PyLong_AsSsize_t(known);
    return value == -1 && PyErr_Occurred() ? -3 : value;
}

static int store_sid(PyObject *sids, PyObject *node, Py_ssize_t value) {
    PyObject *number = PyLong_FromSsize_t(value);
    if (number == NULL) return -1;
    int rc = PyDict_SetItem(sids, node, number);
    Py_DECREF(number);
    return rc;
}

static int append_int(PyObject *list, Py_ssize_t value) {
    PyObject *number = PyLong_FromSsize_t(value);
    if (number == NULL) return -1;
    int rc = PyList_Append(list, number);
    Py_DECREF(number);
    return rc;
}

static Py_ssize_t signature(PyObject *state, PyObject *idx, PyObject *node);

static int check_arguments(PyObject *const *args, Py_ssize_t nargs, const char *name) {
    if (nargs != 3 || !PyTuple_CheckExact(args[0]) || PyTuple_GET_SIZE(args[0]) != SG_SIZE || !PyDict_Check(args[1])) {
        PyErr_Format(PyExc_TypeError, "%s(state, idx, node): a state tuple of %d items and an index dict", name, SG_SIZE);
        return -1;
    }
    return 0;
}

/* batch_sids[node] if known (>= 0), -2 if absent; -1 with an exception set on error or if node is
 * being signed (a cycle: _Cycle). */
static Py_ssize_t known_or_cycle(PyObject *state, PyObject *node) {
    Py_ssize_t k = known_sid(PyTuple_GET_ITEM(state, SG_SIDS), node);
    if (k == -3) return -1;
    if (k == -1) PyErr_SetNone(PyTuple_GET_ITEM(state, SG_CYCLE));
    return k;
}

/* Levels of values sid() may descend, whatever the interpreter's recursion limit (which a deep
 * query's parse raises to 20,000 for a while, npc_kg.sparql.safety): each level takes C stack.
 * Deeper data raises RecursionError, and the evaluator then keys its memos by node (exact). */
#define SID_MAX_DEPTH 900
static int sid_depth; /* levels in progress (under the GIL; another thread's levels count too, which
                       * can only stop a signing early, never let one go deeper) */

/* The signature of a value inside sid(): known, or computed (recursively); -1 on error/cycle. */
static Py_ssize_t value_sid(PyObject *state, PyObject *idx, PyObject *value) {
    Py_ssize_t k = known_or_cycle(state, value);
    if (k == -1) return -1;
    if (k == -2) {
        if (sid_depth >= SID_MAX_DEPTH) {
            PyErr_SetString(PyExc_RecursionError, "the data nests deeper than node signatures go");
            return -1;
        }
        Py_INCREF(value);
        sid_depth++;
        if (Py_EnterRecursiveCall(" in sid") < 0) {
            k = -1;
        } else {
            k = signature(state, idx, value);
            Py_LeaveRecursiveCall();
        }
        sid_depth--;
        Py_DECREF(value);
    }
    return k;
}

static Py_ssize_t signature(PyObject *state, PyObject *idx, PyObject *node) {
    PyObject *sids = PyTuple_GET_ITEM(state, SG_SIDS);
    Py_ssize_t known = known_or_cycle(state, node);
    if (known == -1) return -1;
    if (known >= 0) return known;
    if (!PyUnicode_CheckExact(node)) {
        PyObject *found = PyObject_CallOneArg(PyTuple_GET_ITEM(state, SG_LITERAL), node);
        if (found == NULL) return -1;
        Py_ssize_t value = PyLong_AsSsize_t(found);
        Py_DECREF(found);
        return value;
    }
    PyObject *edges = PyDict_GetItemWithError(idx, node);
    if (edges == NULL && PyErr_Occurred()) return -1;
    Py_XINCREF(edges); /* held: what runs below may change idx */
    PyObject *parts = NULL;
    int has_edges = edges != NULL && PyDict_Check(edges) && PyDict_GET_SIZE(edges) > 0;
    int blank = is_blank_node(node);
    PyObject *name;
    if (!blank) {
        int constant = PySet_Contains(PyTuple_GET_ITEM(state, SG_CONSTANTS), node);
        if (constant < 0) goto fail;
        name = (!has_edges || constant || PyObject_IsTrue(PyTuple_GET_ITEM(state, SG_STRING_TESTS))) ? node : str_iri;
    } else {
        name = str_blank;
    }
    if (store_sid(sids, node, -1) < 0) goto fail;
    int shallow = 1;
    parts = PyList_New(1);
    if (parts == NULL) goto fail;
    Py_INCREF(name);
    PyList_SET_ITEM(parts, 0, name);
    if (has_edges) {
        Py_ssize_t pos = 0;
        PyObject *pred, *values;
        int more;
        while ((more = next_edge(edges, &pos, &pred, &values)) > 0) {
            Py_ssize_t count = PyList_GET_SIZE(values);
            if (PyList_Append(parts, pred) < 0) goto fail;
            if (count != 1 && append_int(parts, -count) < 0) goto fail;
            for (Py_ssize_t i = 0; i < count; i++) {
                PyObject *value = PyList_GET_ITEM(values, i);
                Py_INCREF(value);
                Py_ssize_t k = value_sid(state, idx, value);
                if (k < 0) { Py_DECREF(value); goto fail; }
                if (shallow && PyUnicode_CheckExact(value)) {
                    int inside = PyDict_Contains(idx, value);
                    if (inside < 0) { Py_DECREF(value); goto fail; }
                    if (inside) shallow = 0;
                }
                Py_DECREF(value);
                if (append_int(parts, k) < 0) goto fail;
            }
        }
        if (more < 0) goto fail;
    }
    Py_CLEAR(edges);
    PyObject *shape = PyList_AsTuple(parts);
    Py_CLEAR(parts);
    if (shape == NULL) return -1;
    int fresh;
    Py_ssize_t found = intern_key(PyTuple_GET_ITEM(state, SG_INTERNED), shape, &fresh);
    Py_DECREF(shape);
    if (found < 0) return -1;
    if (fresh && shallow) {
        PyObject *number = PyLong_FromSsize_t(found);
        if (number == NULL) return -1;
        int rc = PySet_Add(PyTuple_GET_ITEM(state, SG_SHALLOW), number);
        Py_DECREF(number);
        if (rc < 0) return -1;
    }
    if (store_sid(sids, node, found) < 0) return -1;
    return found;
fail:
    Py_XDECREF(edges);
    Py_XDECREF(parts);
    return -1;
}

static PyObject *sid(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs) {
    if (check_arguments(args, nargs, "sid") < 0) return NULL;
    Py_ssize_t found = signature(args[0], args[1], args[2]);
    return found < 0 ? NULL : PyLong_FromSsize_t(found);
}

static int compare_ssize(const void *a, const void *b) {
    Py_ssize_t x = *(const Py_ssize_t *)a, y = *(const Py_ssize_t *)b;
    return (x > y) - (x < y);
}

/* A value's key in focus_key: its signature, or its behaviour if it has edges. -1 on error. */
static Py_ssize_t focus_value(PyObject *state, PyObject *idx, PyObject *value) {
    PyObject *sids = PyTuple_GET_ITEM(state, SG_SIDS);
    Py_ssize_t k = known_sid(sids, value);
    if (k == -3) return -1;
    if (k < 0) k = signature(state, idx, value);
    if (k < 0) return -1;
    if (PyUnicode_CheckExact(value)) {
        PyObject *inner = PyDict_GetItemWithError(idx, value);
        if (inner == NULL && PyErr_Occurred()) return -1;
        if (inner != NULL && PyObject_IsTrue(inner)) {
            PyObject *number = PyLong_FromSsize_t(k);
            if (number == NULL) return -1;
            PyObject *known = PyDict_GetItemWithError(PyTuple_GET_ITEM(state, SG_BEHAVIOURS), number);
            if (known != NULL) {
                k = PyLong_AsSsize_t(known);
            } else if (PyErr_Occurred()) {
                k = -1;
            } else {
                PyObject *call[3] = {idx, value, number};
                PyObject *found = PyObject_Vectorcall(PyTuple_GET_ITEM(state, SG_BEHAVIOUR), call, 3, NULL);
                k = found == NULL ? -1 : PyLong_AsSsize_t(found);
                Py_XDECREF(found);
            }
            Py_DECREF(number);
        }
    }
    return k;
}

static PyObject *focus_key(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs) {
    if (check_arguments(args, nargs, "focus_key") < 0) return NULL;
    PyObject *state = args[0], *idx = args[1], *node = args[2];
    PyObject *sids = PyTuple_GET_ITEM(state, SG_SIDS);
    Py_ssize_t structural = known_sid(sids, node);
    if (structural == -3) return NULL;
    if (structural >= 0) {
        PyObject *number = PyLong_FromSsize_t(structural);
        if (number == NULL) return NULL;
        int shallow = PySet_Contains(PyTuple_GET_ITEM(state, SG_SHALLOW), number);
        if (shallow < 0) { Py_DECREF(number); return NULL; }
        if (shallow) return number;
        Py_DECREF(number);
    }
    PyObject *edges = PyDict_GetItemWithError(idx, node);
    if (edges == NULL && PyErr_Occurred()) return NULL;
    int mode = PyObject_IsTrue(PyTuple_GET_ITEM(state, SG_BEHAVIOUR_MODE));
    if (!mode || edges == NULL || !PyDict_Check(edges) || PyDict_GET_SIZE(edges) == 0 || !PyUnicode_CheckExact(node)) {
        Py_ssize_t found = signature(state, idx, node);
        return found < 0 ? NULL : PyLong_FromSsize_t(found);
    }
    Py_INCREF(edges);
    PyObject *parts = NULL, *name;
    Py_ssize_t *row = NULL, capacity = 0;
    if (is_blank_node(node)) {
        name = str_blank;
    } else {
        int constant = PySet_Contains(PyTuple_GET_ITEM(state, SG_CONSTANTS), node);
        if (constant < 0) goto fail;
        name = constant ? node : str_iri;
    }
    parts = PyList_New(2);
    if (parts == NULL) goto fail;
    Py_INCREF(str_k);
    PyList_SET_ITEM(parts, 0, str_k);
    Py_INCREF(name);
    PyList_SET_ITEM(parts, 1, name);
    Py_ssize_t pos = 0;
    PyObject *pred, *values;
    int more;
    while ((more = next_edge(edges, &pos, &pred, &values)) > 0) {
        Py_ssize_t count = PyList_GET_SIZE(values);
        if (count > capacity) {
            Py_ssize_t *grown = PyMem_Realloc(row, (size_t)count * sizeof(Py_ssize_t));
            if (grown == NULL) { PyErr_NoMemory(); goto fail; }
            row = grown, capacity = count;
        }
        for (Py_ssize_t i = 0; i < count; i++) {
            PyObject *value = PyList_GET_ITEM(values, i);
            Py_INCREF(value);
            Py_ssize_t k = focus_value(state, idx, value);
            Py_DECREF(value);
            if (k < 0) goto fail;
            row[i] = k;
        }
        if (PyList_Append(parts, pred) < 0) goto fail;
        if (count != 1) {
            if (count > 1) qsort(row, (size_t)count, sizeof(Py_ssize_t), compare_ssize);
            if (append_int(parts, -count) < 0) goto fail;
        }
        for (Py_ssize_t i = 0; i < count; i++)
            if (append_int(parts, row[i]) < 0) goto fail;
    }
    if (more < 0) goto fail;
    PyObject *key = PyList_AsTuple(parts);
    if (key == NULL) goto fail;
    int fresh;
    Py_ssize_t found = intern_key(PyTuple_GET_ITEM(state, SG_INTERNED), key, &fresh);
    Py_DECREF(key);
    Py_DECREF(parts);
    Py_DECREF(edges);
    PyMem_Free(row);
    return found < 0 ? NULL : PyLong_FromSsize_t(found);
fail:
    Py_XDECREF(parts);
    Py_DECREF(edges);
    PyMem_Free(row);
    return NULL;
}

static PyMethodDef methods[] = {
    {"scan", scan, METH_VARARGS, scan_doc},
    {"index", index_nt, METH_VARARGS, index_doc},
    {"fast_term", fast_term, METH_O, fast_term_doc},
    {"sid", (PyCFunction)(void (*)(void))sid, METH_FASTCALL,
     "sid(state, idx, node) -> int: the interned signature of node, as _Linked._sid gives it"},
    {"focus_key", (PyCFunction)(void (*)(void))focus_key, METH_FASTCALL,
     "focus_key(state, idx, node) -> int: the memo key of a focus node, as _Linked._focus_key gives it"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_ntscan",
    "The local engine's per-line and per-node loops in C (optional; see npc_kg.cohort.records, "
    "npc_kg.cohort.ntriples and npc_kg.shacl.closures).",
    -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__ntscan(void) {
    str_blank = PyUnicode_InternFromString("_");
    str_iri = PyUnicode_InternFromString("I");
    str_k = PyUnicode_InternFromString("K");
    if (str_blank == NULL || str_iri == NULL || str_k == NULL) return NULL;
    init_iri_chars();
    PyObject *m = PyModule_Create(&module);
    if (m != NULL && PyModule_AddStringConstant(m, "SOURCE_SHA256", NPC_KG_SOURCE_SHA256) < 0) Py_CLEAR(m);
    return m;
}
