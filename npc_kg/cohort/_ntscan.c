/*
 * npc_kg.cohort._ntscan: the two per-line loops of the cohort reader in C.
 *
 * Optional accelerator. Each function does exactly what a pure-Python reference does, and the
 * tests compare the two on random and mutated input (tests/cohort/test_ntscan.py):
 *
 * - scan(block, pos, number, linked, data, runs, flags, marks, check) reads the lines of a block into
 *   the current patient record while their subject (as parsed) is linked to it, as
 *   npc_kg.cohort.records.scan does;
 * - index(data, memo, term, needed, inverse, every, subclass, not_strict, unsupported) reads
 *   strict one-triple-per-line N-Triples into the local engine's index, as
 *   npc_kg.cohort.local.LocalEngine.index_terms(npc_kg.cohort.ntriples.strict_triples(data)) does.
 *   Every term is decoded by the Python function `term` (memoised in `memo`), so what counts as
 *   strict is decided in one place, in Python.
 *
 * The signatures of focus nodes (sid, focus_key) were in C too until issue #11 part 6 measured
 * them: they bought 1.08-1.13x end to end (benchmarks/native_decision.py), below the 1.5x a C
 * path must buy to stay, so they are Python only (npc_kg.shacl.closures).
 *
 * No clinical knowledge lives here: no IRI, criterion or threshold.
 */
#define PY_SSIZE_T_CLEAN
#ifndef NPC_KG_SOURCE_SHA256
#define NPC_KG_SOURCE_SHA256 "unknown" /* hatch_build.py passes the SHA-256 of this file */
#endif
#include <Python.h>
#include <string.h>

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

/* runs += (number, 1), or runs[-1] += 1 if the last run ends right before this line. */
static int add_run(PyObject *runs, Py_ssize_t number) {
    Py_ssize_t size = PyList_GET_SIZE(runs);
    if (size >= 2) {
        Py_ssize_t first = PyLong_AsSsize_t(PyList_GET_ITEM(runs, size - 2));
        Py_ssize_t count = PyLong_AsSsize_t(PyList_GET_ITEM(runs, size - 1));
        if (PyErr_Occurred()) return -1;
        if (first + count == number) {
            PyObject *grown = PyLong_FromSsize_t(count + 1);
            if (grown == NULL) return -1;
            return PyList_SetItem(runs, size - 1, grown); /* steals */
        }
    }
    PyObject *first = PyLong_FromSsize_t(number), *one = PyLong_FromLong(1);
    int rc = first == NULL || one == NULL || PyList_Append(runs, first) < 0 || PyList_Append(runs, one) < 0 ? -1 : 0;
    Py_XDECREF(first);
    Py_XDECREF(one);
    return rc;
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
    if (PyList_GET_SIZE(flags) != 3 || PyTuple_GET_SIZE(marks) != 3 || (linked != Py_None && !PyAnySet_Check(linked)) ||
        !PyBytes_Check(PyTuple_GET_ITEM(marks, 0)) || !PyBytes_Check(PyTuple_GET_ITEM(marks, 1)) ||
        !PyBytes_Check(PyTuple_GET_ITEM(marks, 2))) {
        PyErr_SetString(PyExc_ValueError, "scan: malformed arguments");
        goto done;
    }
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
        if (add_run(runs, number) < 0) goto done;
        /* [ \t]*(<[^>]*>)?[ \t]*(?:(<[^>]*>|_:[^ \t<]*)|(")) */
        Py_ssize_t i = after, p0 = -1, p_n = 0, o0 = -1, o_n = 0;
        int literal = 0;
        while (i < n && is_space((unsigned char)line[i])) i++;
        if (i < n && line[i] == '<') {
            const char *close = memchr(line + i + 1, '>', (size_t)(n - i - 1));
            if (close != NULL) {
                p0 = i;
                p_n = (close - line) + 1 - i;
                i = p0 + p_n;
            }
        }
        while (i < n && is_space((unsigned char)line[i])) i++;
        if (i < n && line[i] == '<') {
            const char *close = memchr(line + i + 1, '>', (size_t)(n - i - 1));
            if (close != NULL) {
                o0 = i;
                o_n = (close - line) + 1 - i;
            }
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
                o_key = token_key(line + o0, o_n, check);
                if (o_key == NULL) goto done;
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
    Py_XDECREF(subject_key);
    PyBuffer_Release(&view);
    return result;
}

/* ------------------------------------------------------------------------------------------ */
/* index                                                                                       */
/* ------------------------------------------------------------------------------------------ */

/* Characters an IRI may hold, by part, for the fast path below (ASCII only, no '%'):
 * unreserved, sub-delims, ':' and '@' (RFC 3986 pchar), plus '/' for paths and '/', '?' for
 * queries and fragments. */
static int is_pchar(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~' || c == '!' || c == '$' || c == '&' || c == '\'' || c == '(' || c == ')' || c == '*' ||
           c == '+' || c == ',' || c == ';' || c == '=' || c == ':' || c == '@';
}

/* 1 if the IRI text p[0:n] is in a conservative subset that every RFC 3987 parser (and so
 * pyoxigraph.NamedNode) accepts unchanged: scheme "://" host [path] ["?" query] ["#" fragment],
 * with an ASCII host name and no percent-encoding, port, user or IP literal. Anything else goes
 * to the Python decoder. */
static int simple_iri(const char *p, Py_ssize_t n) {
    Py_ssize_t i = 0;
    if (n == 0 || !((p[0] >= 'a' && p[0] <= 'z') || (p[0] >= 'A' && p[0] <= 'Z'))) return 0;
    for (i = 1; i < n && p[i] != ':'; i++) {
        unsigned char c = (unsigned char)p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'))
            return 0;
    }
    if (i + 2 >= n || p[i + 1] != '/' || p[i + 2] != '/') return 0;
    Py_ssize_t host = i + 3;
    for (i = host; i < n && p[i] != '/' && p[i] != '?' && p[i] != '#'; i++) {
        unsigned char c = (unsigned char)p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) return 0;
    }
    if (i == host) return 0;
    for (; i < n && p[i] != '?' && p[i] != '#'; i++)
        if (!is_pchar((unsigned char)p[i]) && p[i] != '/') return 0;
    if (i < n && p[i] == '?')
        for (i++; i < n && p[i] != '#'; i++)
            if (!is_pchar((unsigned char)p[i]) && p[i] != '/' && p[i] != '?') return 0;
    if (i < n && p[i] == '#')
        for (i++; i < n; i++)
            if (!is_pchar((unsigned char)p[i]) && p[i] != '/' && p[i] != '?') return 0;
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

/* memo[token], or memo[token] = the fast path's term or term(token). Returns a borrowed
 * reference (held by memo). */
static PyObject *lookup(PyObject *memo, PyObject *term, const char *p, Py_ssize_t n) {
    PyObject *key = PyBytes_FromStringAndSize(p, n);
    if (key == NULL) return NULL;
    PyObject *value = PyDict_GetItemWithError(memo, key);
    if (value == NULL && !PyErr_Occurred()) {
        value = decode_fast(p, n);
        if (value == NULL && !PyErr_Occurred()) value = PyObject_CallOneArg(term, key);
        if (value != NULL) {
            int rc = PyDict_SetItem(memo, key, value);
            Py_DECREF(value); /* memo holds it */
            if (rc < 0) value = NULL;
        }
    }
    Py_DECREF(key);
    return value;
}

/* values = edges[key]; values.append(item) unless item in values. */
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
        return rc;
    }
    int found = PySequence_Contains(values, item);
    if (found < 0) return -1;
    return found ? 0 : PyList_Append(values, item);
}

PyDoc_STRVAR(index_doc,
"index(data, memo, term, needed, inverse, every, subclass, not_strict, unsupported) -> dict\n\n"
"The local engine's index of strict N-Triples ``data``; raises ``not_strict`` if a line is not in\n"
"the strict form (see npc_kg.cohort.ntriples), ``unsupported`` for an unneeded ``subclass`` triple.\n"
"``inverse`` maps each inverse-indexed predicate to its ``^predicate`` key.");

static PyObject *index_nt(PyObject *Py_UNUSED(module), PyObject *args) {
    Py_buffer view;
    PyObject *memo, *term, *needed, *inverse, *subclass, *not_strict, *unsupported;
    int every;
    if (!PyArg_ParseTuple(args, "y*O!OOO!pUOO:index", &view, &PyDict_Type, &memo, &term, &needed, &PyDict_Type,
                          &inverse, &every, &subclass, &not_strict, &unsupported))
        return NULL;
    PyObject *idx = PyDict_New();
    if (idx == NULL) goto fail;
    PyObject *last_s = NULL; /* borrowed from memo, which only grows during this call */
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
        /* consecutive lines mostly share their subject: reuse the last one's term */
        PyObject *s;
        if (last_s != NULL && sp1 - line == last_n && memcmp(line, last_text, (size_t)last_n) == 0) {
            s = last_s;
        } else {
            s = lookup(memo, term, line, sp1 - line);
            if (s == NULL) goto fail;
            last_s = s, last_text = line, last_n = sp1 - line;
        }
        PyObject *p = lookup(memo, term, sp1 + 1, sp2 - sp1 - 1);
        if (p == NULL) goto fail;
        PyObject *o = lookup(memo, term, sp2 + 1, olen);
        if (o == NULL) goto fail;
        /* subject and predicate must be IRIs or blank nodes (str), the predicate not "_:label" */
        if (!PyUnicode_CheckExact(s) || !PyUnicode_CheckExact(p)) goto not_strict_line;
        if (PyUnicode_GET_LENGTH(p) >= 2 && PyUnicode_READ_CHAR(p, 0) == '_' && PyUnicode_READ_CHAR(p, 1) == ':')
            goto not_strict_line;
        if (!every) {
            int wanted = PySet_Contains(needed, p);
            if (wanted < 0) goto fail;
            if (!wanted) {
                int same = PyUnicode_Compare(p, subclass);
                if (same == -1 && PyErr_Occurred()) goto fail;
                if (same == 0) {
                    PyErr_SetString(unsupported, "the data has rdfs:subClassOf triples");
                    goto fail;
                }
                continue;
            }
        }
        if (add_edge(idx, s, p, o) < 0) goto fail;
        PyObject *back = PyDict_GetItemWithError(inverse, p);
        if (back == NULL && PyErr_Occurred()) goto fail;
        if (back != NULL && add_edge(idx, o, back, s) < 0) goto fail;
    }
    PyBuffer_Release(&view);
    return idx;
not_strict_line:
    PyErr_SetNone(not_strict);
fail:
    Py_XDECREF(idx);
    PyBuffer_Release(&view);
    return NULL;
}

static PyMethodDef methods[] = {
    {"scan", scan, METH_VARARGS, scan_doc},
    {"index", index_nt, METH_VARARGS, index_doc},
    {"fast_term", fast_term, METH_O, fast_term_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_ntscan",
    "The cohort reader's per-line loops in C (optional; see npc_kg.cohort.reader and npc_kg.cohort.ntriples).",
    -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__ntscan(void) {
    PyObject *m = PyModule_Create(&module);
    if (m != NULL && PyModule_AddStringConstant(m, "SOURCE_SHA256", NPC_KG_SOURCE_SHA256) < 0) Py_CLEAR(m);
    return m;
}
