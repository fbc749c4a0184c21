#!/usr/bin/env python3
"""Writes the bad-input corpus: one directory per case, each a small, complete data set with
ONE thing broken. Run from anywhere (python3, standard library only: the .npy files are
written byte by byte with struct); it rewrites csv/, ml100k/, ml1m/ and npy/ and then checks
that expected.tsv lists every case with the same arguments.

Kinds:
  csv     the generic CSV format: interactions.csv, users.csv, items.csv (a missing
          users.csv or items.csv is simply not passed), schema strings in expected.tsv
  ml100k  a MovieLens 100K directory: u.data, u.user, u.item
  ml1m    a MovieLens 1M directory: ratings.dat, users.dat, movies.dat
  npy     a CSV data set whose items have a dense field read from emb.npy

The exact message of every case is in expected.tsv (written and reviewed by hand, never by
this script); tests/data/test_bad_inputs.cpp checks it through the library and
examples/check_bad_inputs.cmake through metarec-coldstart. The generated files are committed:
the tests do not need Python.
"""
import os
import shutil
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
KINDS = ('csv', 'ml100k', 'ml1m', 'npy')
ARGS = {}  # case path -> the arguments column of expected.tsv

for kind in KINDS:  # every case is written again below
    shutil.rmtree(os.path.join(HERE, kind), ignore_errors=True)


def put(path, content):
    path = os.path.join(HERE, path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(content if isinstance(content, bytes) else content.encode('latin-1'))


# a PNG's first bytes: binary data with line feeds before its first NUL (on line 3)
PNG = b'\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x02\x00\x00\x00\x90\x91h6'

# ---------------------------------------------------------------- generic CSV
INTER = "user,item,rating,timestamp\nu1,i1,4,10\nu1,i2,2,11\nu2,i1,5,12\nu2,i3,3,13\n"
USERS = "user,region,age\nu1,north,31\nu2,south,45\n"
ITEMS = "item,tags,price\ni1,a|b,9.5\ni2,b,3\ni3,,4\n"
USER_SCHEMA = "region:cat,age:num"
ITEM_SCHEMA = "tags:multi,price:num"


def csv(name, inter=INTER, users=USERS, items=ITEMS, user_schema=USER_SCHEMA, item_schema=ITEM_SCHEMA, kind='csv',
        events=None):
    base = kind + '/' + name
    for file, content in (('interactions.csv', inter), ('users.csv', users), ('items.csv', items)):
        if content is not None:
            put(base + '/' + file, content)
    args = []
    if user_schema: args += ['--user-schema', user_schema]
    if item_schema: args += ['--item-schema', item_schema]
    if events: args += ['--events', events]
    assert all(' ' not in a and '\t' not in a for a in args), 'expected.tsv separates arguments by spaces'
    ARGS[base] = ' '.join(args) or '-'


def inter(*rows, header="user,item,rating"):
    return header + "\n" + "".join(r + "\n" for r in rows)


# files and headers
csv('empty-interactions', inter="")
csv('blank-lines-only', inter="\n\r\n\n")
csv('header-only', inter="user,item,rating\n")
csv('missing-interactions-file', inter=None)
csv('items-header-only', items="item,tags,price\n")
csv('missing-item-column', inter="user\nu1\n")
# implicit feedback: interaction logs without ratings, event types with weights (--events)
EVENTS = "view:1,cart:3,purchase:5"
LOG = "user,item,event,timestamp\n"
csv('implicit-event-not-listed', inter=LOG + "u1,i1,view,10\nu1,i2,wishlist,11\n", events=EVENTS)
csv('implicit-empty-event', inter=LOG + "u1,i1,view,10\nu2,i1,,11\n", events=EVENTS)
csv('implicit-events-without-event-column', events=EVENTS)
csv('implicit-timestamp-not-integer', inter="user,item,timestamp\nu1,i1,10\nu1,i2,x\n")
csv('implicit-timestamp-then-rating', inter="user,item,timestamp,rating\nu1,i1,10,4\n")
csv('implicit-short-row', inter="user,item\nu1,i1\nu2\n")
csv('events-bad-weight', inter=LOG + "u1,i1,view,10\n", events="view:1,cart:x")
csv('events-missing-weight', inter=LOG + "u1,i1,view,10\n", events="view:1,cart")
csv('events-duplicate', inter=LOG + "u1,i1,view,10\n", events="view:1,view:2")
csv('events-zero-weight', inter=LOG + "u1,i1,view,10\n", events="view:0")
csv('header-five-columns', inter=inter("u1,i1,4,10,x", header="user,item,rating,timestamp,extra"))
csv('header-wrong-order', inter=inter("i1,u1,4", header="item,user,rating"))
csv('header-duplicate-column', inter=inter("u1,i1,i1", header="user,item,item"))
csv('duplicate-header-column', users="user,region,region\nu1,north,south\nu2,south,north\n",
    user_schema="region:cat")
# rows and fields
csv('short-row', inter=inter("u1,i1,4", "u2,i1"))
csv('long-row', inter=inter("u1,i1,4,10,extra"))
csv('rating-not-a-number', inter=inter("u1,i1,four"))
csv('rating-decimal-comma', inter=inter("u1,i1,4", 'u2,i1,"4,5"'))
csv('rating-nan', inter=inter("u1,i1,nan"))
csv('rating-inf', inter=inter("u1,i1,inf"))
csv('rating-huge', inter=inter("u1,i1,1e999"))
csv('timestamp-not-integer', inter="user,item,rating,timestamp\nu1,i1,4,yesterday\n")
csv('timestamp-overflow', inter="user,item,rating,timestamp\nu1,i1,4,99999999999999999999999\n")
csv('timestamp-negative-overflow', inter="user,item,rating,timestamp\nu1,i1,4,10\nu2,i1,5,-99999999999999999999\n")
csv('empty-user-key', inter=inter(",i1,4"))
csv('empty-item-key', inter=inter("u1,i1,4", "u2,,4"))
csv('unknown-user', inter=inter("u9,i1,4"))
csv('unknown-item', inter=inter("u1,i9,4"))
csv('negative-user-id', inter=inter("u1,i1,4", "-1,i1,4"))
csv('huge-user-id', inter=inter("u1,i1,4", "99999999999999999999999,i1,4"))
csv('latin1-unknown-user', users="user,region,age\nJos\xe9,north,31\nu2,south,45\n", inter=inter("Jos\xe9,i1,4", "Jos\xe8,i1,4"))
csv('duplicate-user', users="user,region,age\nu1,north,31\nu1,south,45\n")
csv('duplicate-item-after-trim', items="item,tags,price\ni1,a,1\n i1 ,b,2\ni2,b,3\ni3,,4\n")
csv('empty-user-key-in-users', users="user,region,age\nu1,north,31\n,south,45\n", user_schema="age:num,region:cat")
csv('user-numeric-not-a-number', users="user,region,age\nu1,north,old\nu2,south,45\n")
csv('user-numeric-nan', users="user,region,age\nu1,north,31\nu2,south,nan\n")
csv('item-numeric-inf', items="item,tags,price\ni1,a,inf\ni2,b,3\ni3,,4\n")
# encodings and bytes
csv('nul-byte', inter=inter("u1,i1,4", "u2,i\x001,5"))
csv('users-nul-byte', users="user,region,age\nu1,north,31\nu2,so\x00uth,45\n")
csv('binary-garbage', inter=bytes(range(256)) * 4)
csv('items-png', items=PNG)
csv('utf16-bom', inter="\xff\xfeu\x00s\x00e\x00r\x00,\x00i\x00t\x00e\x00m\x00\n\x00")
csv('users-utf16-big-endian', users="\xfe\xff\x00u\x00s\x00e\x00r\x00,\x00r\x00e\x00g\x00i\x00o\x00n\x00\n")
csv('invalid-utf8-header', inter="user,item,r\xe4ting\nu1,i1,4\n")
csv('bom-then-empty-rating', inter="\xef\xbb\xbfuser,item,rating\nu1,i1,4\nu2,i1,\n")
# quotes and line ends
csv('stray-quote', inter='user,item,rating\nu1,"i1,4\n')
csv('users-unterminated-quote', users='user,region,age\nu1,north,31\nu2,"south,45\n')
csv('text-after-closing-quote', inter='user,item,rating\n"u1"x,i1,4\n')
csv('quote-inside-field', inter='user,item,rating\nu1,i"1,4\n')
csv('newline-in-quoted-user', inter='user,item,rating\nu1,i1,4\n"u\n9",i1,4\n')
csv('lone-cr', inter="user,item,rating\nu1,i1,4\ru2,i1,5\n")
csv('lone-cr-blank-line', inter="user,item,rating\nu1,i1,4\n\ru2,i1,5\n")
csv('crlf-timestamp-not-integer', inter="user,item,rating,timestamp\r\nu1,i1,4,10\r\n\r\nu2,i1,5,1.5\r\n")
csv('error-after-blank-lines', inter="user,item,rating\n\nu1,i1,4\n\n\nu2,i1,x\n")
csv('error-after-multiline-quote', items='item,tags,price\ni1,"a|\nb",9.5\ni2,b,3\ni3,,x\n')
# schema strings
csv('unknown-schema-kind', user_schema="region:cat,age:blob")
csv('schema-kind-with-colon', user_schema="region:cat:num,age:num")
csv('schema-missing-kind', user_schema="region,age:num")
csv('schema-unknown-field', user_schema="region:cat,height:num")
csv('schema-key-column', user_schema="user:cat,age:num")
csv('schema-empty-field-name', user_schema=":cat,age:num")
csv('schema-duplicate-field', user_schema="region:cat,region:cat,age:num")
csv('schema-dense-without-file', item_schema="tags:multi,price:dense()")
csv('schema-unbalanced-open', item_schema="tags:multi,price:dense(x.npy")
csv('schema-unbalanced-close', user_schema="region:cat),age:num")
csv('schema-empty-entry', user_schema="region:cat,,age:num")
csv('schema-trailing-comma', user_schema="region:cat,age:num,")
csv('schema-without-users-file', users=None)
csv('schema-without-items-file', items=None)

# ---------------------------------------------------------------- MovieLens 100K
GENRES = "|".join(["0"] * 19)
UUSER = "1|24|M|technician|85711\n2|53|F|other|94043\n"
UITEM = "1|Toy Story (1995)|01-Jan-1995||http://x|" + GENRES + "\n2|GoldenEye (1995)|01-Jan-1995||http://y|" + GENRES + "\n"
UDATA = "1\t1\t5\t874965758\n1\t2\t3\t876893171\n2\t1\t4\t878542960\n"


def ml100k(name, user=UUSER, item=UITEM, data=UDATA):
    base = 'ml100k/' + name
    for file, content in (('u.user', user), ('u.item', item), ('u.data', data)):
        if content is not None:
            put(base + '/' + file, content)
    ARGS[base] = '-'


def udata(*rows):
    return "".join("\t".join(r.split()) + "\n" for r in rows)


# files
ml100k('missing-u-data', data=None)
ml100k('missing-u-user', user=None)
ml100k('missing-u-item', item=None)
ml100k('u-data-is-directory', data=None)
put('ml100k/u-data-is-directory/u.data/.keep', "")
ml100k('u-item-is-directory', item=None)
put('ml100k/u-item-is-directory/u.item/.keep', "")
ml100k('empty-u-user', user="")
ml100k('empty-u-data', data="")
ml100k('rating-row-with-spaces-only', data="   \n\t\t\t\n")
# u.data
ml100k('rating-not-a-number', data=udata("1 1 five 874965758"))
ml100k('rating-out-of-range', data=udata("1 1 7 874965758"))
ml100k('rating-negative', data=udata("1 1 -1 874965758"))
ml100k('rating-fraction', data=udata("1 1 5 874965758", "1 2 4.5 876893171"))
ml100k('rating-nan', data=udata("1 1 nan 874965758"))
ml100k('rating-inf', data=udata("1 1 inf 874965758"))
ml100k('rating-huge', data=udata("1 1 1e999 874965758"))
ml100k('short-rating-row', data=udata("1 1 5"))
ml100k('long-rating-row', data=udata("1 1 5 874965758 9"))
ml100k('timestamp-not-integer', data=udata("1 1 5 noon"))
ml100k('timestamp-overflow', data=udata("1 1 5 99999999999999999999999"))
ml100k('timestamp-negative-overflow', data=udata("1 1 5 874965758", "2 1 4 -99999999999999999999"))
ml100k('unknown-user', data=udata("9 1 5 874965758"))
ml100k('unknown-item', data=udata("1 9 5 874965758"))
ml100k('huge-user-id', data=udata("99999999999999999999 1 5 874965758"))
ml100k('negative-user-id', data=udata("-1 1 5 874965758"))
ml100k('latin1-unknown-user', data=udata("1 1 5 874965758", "J\xf6rg 1 4 874965759"))
ml100k('header-line', data="user_id\titem_id\trating\ttimestamp\n" + UDATA)
ml100k('comma-separated-data', data="1,1,5,874965758\n")
ml100k('space-separated-data', data="1 1 5 874965758\n")
ml100k('error-after-blank-line', data="1\t1\t5\t874965758\n\n1\t2\t9\t876893171\n")
ml100k('crlf-rating-out-of-range', data="1\t1\t5\t874965758\r\n1\t2\t3\t876893171\r\n2\t1\t0\t878542960\r\n")
ml100k('lone-cr-in-data', data="1\t1\t5\t874965758\r2\t1\t4\t878542960\n")
ml100k('nul-byte-in-data', data="1\t1\t5\t8749\x0065758\n")
ml100k('binary-u-data', data=bytes(range(1, 256)) * 8)
# u.user
ml100k('age-not-a-number', user="1|old|M|technician|85711\n")
ml100k('age-out-of-range', user="1|200|M|technician|85711\n")
ml100k('age-negative-after-blank-line', user="\n1|24|M|technician|85711\n2|-5|F|other|94043\n")
ml100k('age-overflow', user="1|99999999999999999999|M|technician|85711\n")
ml100k('user-short-row', user="1|24|M|technician\n")
ml100k('user-long-row', user="1|24|M|technician|85711|x\n")
ml100k('duplicate-user', user="1|24|M|technician|85711\n1|53|F|other|94043\n")
ml100k('empty-user-key', user="1|24|M|technician|85711\n|53|F|other|94043\n")
ml100k('utf16-u-user', user="\xff\xfe1\x00|\x002\x004\x00\n\x00")
# u.item
ml100k('item-short-row', item="1|Toy Story (1995)|01-Jan-1995||http://x|0|0\n")
ml100k('item-missing-one-flag', item="1|Toy Story (1995)|01-Jan-1995||http://x|" + "|".join(["0"] * 18) + "\n")
ml100k('item-bad-date', item="1|Toy Story (1995)|Jan-01-95||http://x|" + GENRES + "\n")
ml100k('genre-flag-not-binary', item="1|Toy Story (1995)|01-Jan-1995||http://x|" + "|".join(["0"] * 18 + ["2"]) + "\n")
ml100k('duplicate-item', item="1|A (1995)|01-Jan-1995||x|" + GENRES + "\n1|B (1995)|01-Jan-1995||y|" + GENRES + "\n")
ml100k('empty-item-key', item="1|A (1995)|01-Jan-1995||x|" + GENRES + "\n|B (1995)|01-Jan-1995||y|" + GENRES + "\n")
ml100k('nul-byte-in-item', item="1|A (1995)|01-Jan-1995||x|" + GENRES + "\n2|B (19\x0095)|01-Jan-1995||y|" + GENRES + "\n")
ml100k('utf16-big-endian-u-item', item="\xfe\xff\x001\x00|\x00A\x00\n")

# ---------------------------------------------------------------- MovieLens 1M
USERS1M = "1::F::1::10::48067\n2::M::56::16::70072\n"
MOVIES1M = "1::Toy Story (1995)::Animation|Children's|Comedy\n2::Jumanji (1995)::Adventure|Children's|Fantasy\n"
RATINGS1M = "1::1::5::978300760\n1::2::3::978302109\n2::1::4::978301968\n"


def ml1m(name, users=USERS1M, movies=MOVIES1M, ratings=RATINGS1M):
    base = 'ml1m/' + name
    for file, content in (('users.dat', users), ('movies.dat', movies), ('ratings.dat', ratings)):
        if content is not None:
            put(base + '/' + file, content)
    ARGS[base] = '-'


# files
ml1m('missing-ratings', ratings=None)
ml1m('missing-users', users=None)
ml1m('missing-movies', movies=None)
ml1m('empty-users', users="")
ml1m('empty-movies', movies="")
ml1m('empty-ratings', ratings="")
# ratings.dat
ml1m('rating-not-a-number', ratings="1::1::x::978300760\n")
ml1m('rating-out-of-range', ratings="1::1::0::978300760\n")
ml1m('negative-rating', ratings="1::1::-3::978300760\n")
ml1m('rating-fraction', ratings="1::1::5::978300760\n1::2::3.5::978302109\n")
ml1m('rating-inf', ratings="1::1::inf::978300760\n")
ml1m('rating-nan', ratings="1::1::5::978300760\n2::1::NaN::978301968\n")
ml1m('short-rating-row', ratings="1::1::5\n")
ml1m('long-rating-row', ratings="1::1::5::978300760::1\n")
ml1m('trailing-separator', ratings="1::1::5::978300760::\n")
ml1m('single-colon-separator', ratings="1:1:5:978300760\n")
ml1m('tab-separated-ratings', ratings="1\t1\t5\t978300760\n")
ml1m('timestamp-not-integer', ratings="1::1::5::later\n")
ml1m('timestamp-overflow', ratings="1::1::5::99999999999999999999999\n")
ml1m('unknown-user', ratings="7::1::5::978300760\n")
ml1m('unknown-movie', ratings="1::7::5::978300760\n")
ml1m('huge-movie-id', ratings="1::99999999999999999999::5::978300760\n")
ml1m('empty-user-id', ratings="::1::5::978300760\n")
ml1m('latin1-unknown-user', ratings="1::1::5::978300760\nJ\xf6rg::1::4::978300761\n")
ml1m('header-line', ratings="UserID::MovieID::Rating::Timestamp\n" + RATINGS1M)
ml1m('crlf-error-after-blank-line', ratings="1::1::5::978300760\r\n\r\n1::2::6::978302109\r\n")
ml1m('nul-byte-in-ratings', ratings="1::1::5::97830\x000760\n")
ml1m('binary-ratings', ratings=bytes(range(1, 256)) * 8)
# users.dat
ml1m('age-not-a-group', users="1::F::2::10::48067\n")
ml1m('age-leading-zero', users="1::F::01::10::48067\n")
ml1m('age-not-a-number', users="1::F::young::10::48067\n")
ml1m('age-overflow', users="1::F::1::10::48067\n2::M::99999999999999999999::16::70072\n")
ml1m('user-short-row', users="1::F::1::10\n")
ml1m('user-long-row', users="1::F::1::10::48067::x\n")
ml1m('pipe-separated-users', users="1|F|1|10|48067\n")
ml1m('duplicate-user', users="1::F::1::10::48067\n1::M::56::16::70072\n")
ml1m('empty-user-key', users="1::F::1::10::48067\n::M::56::16::70072\n")
ml1m('lone-cr-blank-line-users', users="1::F::1::10::48067\n\r2::M::56::16::70072\n")
ml1m('utf16-users', users="\xff\xfe1\x00:\x00:\x00F\x00\n\x00")
ml1m('users-png', users=PNG)
# movies.dat
ml1m('movie-short-row', movies="1::Toy Story (1995)\n")
ml1m('movie-long-row', movies="1::Toy Story (1995)::Comedy::extra\n")
ml1m('duplicate-movie', movies="1::A (1995)::Comedy\n1::B (1996)::Drama\n")
ml1m('movie-empty-id', movies="::Toy Story (1995)::Comedy\n2::Jumanji (1995)::Adventure\n")
ml1m('lone-cr-in-movies', movies="1::Toy Story (1995)::Comedy\r2::Jumanji (1995)::Adventure\n")
ml1m('utf16-movies', movies="\xff\xfe1\x00:\x00:\x00A\x00\n\x00")


# ---------------------------------------------------------------- .npy
def npy(descr, shape, payload, version=1, fortran='False', header=None, magic=b'\x93NUMPY', minor=0):
    """A .npy file as numpy writes it (header padded to 64 bytes), with the given parts."""
    h = header if header is not None else "{'descr': %s, 'fortran_order': %s, 'shape': %s, }" % (
        descr if descr.startswith('[') else "'%s'" % descr, fortran, shape)
    pre = 10 if version == 1 else 12
    pad = (64 - (pre + len(h) + 1) % 64) % 64
    h = h + ' ' * pad + '\n'
    size = struct.pack('<H', len(h)) if version == 1 else struct.pack('<I', len(h))
    return magic + bytes([version, minor]) + size + h.encode('latin-1') + payload


def f4(*v): return struct.pack('<%df' % len(v), *v)
def f8(*v): return struct.pack('<%dd' % len(v), *v)


NPY_ITEMS = "item,tags\ni1,a\ni2,b\ni3,\n"  # 3 items: emb.npy needs 3 rows
NPY_INTER = "user,item,rating\nu1,i1,4\n"
NAN, INF = float('nan'), float('inf')
npy_cases = {
    # dtypes
    'dtype-int32': npy('<i4', '(3, 2)', struct.pack('<6i', *range(6))),
    'dtype-int64': npy('<i8', '(3, 2)', struct.pack('<6q', *range(6))),
    'dtype-uint8': npy('|u1', '(3, 2)', bytes(6)),
    'dtype-big-endian': npy('>f4', '(3, 2)', struct.pack('>6f', *range(6))),
    'dtype-big-endian-f8': npy('>f8', '(3, 2)', struct.pack('>6d', *range(6))),
    'dtype-bool': npy('|b1', '(3, 2)', bytes(6)),
    'dtype-float16': npy('<f2', '(3, 2)', bytes(12)),
    'dtype-object': npy('|O', '(3, 2)', bytes(48)),
    'dtype-complex': npy('<c8', '(3, 2)', bytes(48)),
    'dtype-unicode': npy('<U5', '(3, 2)', bytes(120)),
    'dtype-structured': npy("[('a', '<f4'), ('b', '<f4')]", '(3,)', f4(*range(6))),
    # shapes
    'three-dimensional': npy('<f4', '(3, 1, 2)', f4(*range(6))),
    'zero-dimensional': npy('<f4', '()', f4(1)),
    'rows-not-items': npy('<f4', '(2, 3)', f4(*range(6))),
    'one-dimensional-rows-not-items': npy('<f4', '(2,)', f4(1, 2)),
    'zero-rows': npy('<f4', '(0, 2)', b''),
    'shape-negative': npy('<f4', '(-3, 2)', f4(*range(6))),
    'shape-fractional': npy('<f4', '(3, 2.5)', f4(*range(6))),
    'shape-not-a-number': npy('<f4', '(3, x)', f4(*range(6))),
    'shape-dimension-overflow': npy('<f4', '(99999999999999999999999, 2)', f4(*range(6))),
    'huge-shape': npy('<f4', '(4611686018427387904, 2)', f4(*range(6))),
    'huge-shape-overflow': npy('<f4', '(18446744073709551615, 18446744073709551615)', f4(1)),
    'fortran-order': npy('<f4', '(3, 2)', f4(*range(6)), fortran='True'),
    'fortran-order-not-a-bool': npy('<f4', '(3, 2)', f4(*range(6)), fortran='0'),
    # sizes
    'truncated-payload': npy('<f4', '(3, 2)', f4(*range(5))),
    'truncated-payload-f8': npy('<f8', '(3, 2)', f8(*range(6))[:-1]),
    'payload-too-long': npy('<f4', '(3, 2)', f4(*range(7))),
    'empty-file': b'',
    'truncated-magic': b'\x93NUM',
    'magic-only': b'\x93NUMPY',
    'version-2-truncated': b'\x93NUMPY\x02\x00\x10\x00',
    'header-length-beyond-file': b'\x93NUMPY\x01\x00\xff\xff' + b"{'descr': '<f4'",
    'version-2-header-length-beyond-file': b'\x93NUMPY\x02\x00\xff\xff\xff\xff' + b"{'descr': '<f4'",
    # magic, version, header
    'bad-magic': npy('<f4', '(3, 2)', f4(*range(6)), magic=b'\x93NUMPX'),
    'text-file': b"0.1,0.2\n0.3,0.4\n0.5,0.6\n",
    'csv-renamed': b"item,x\ni1,1\n",
    'png-renamed': PNG,
    'version-9': npy('<f4', '(3, 2)', f4(*range(6)), version=9),
    'minor-version': npy('<f4', '(3, 2)', f4(*range(6)), minor=5),
    'header-not-a-dict': npy('<f4', '(3, 2)', f4(*range(6)), header="['descr', '<f4']"),
    'header-not-newline-terminated': b'\x93NUMPY\x01\x00\x10\x00' + b"{'descr': '<f4'}" + f4(1),
    'header-without-shape': npy('<f4', '(3, 2)', f4(*range(6)), header="{'descr': '<f4', 'fortran_order': False, }"),
    'header-without-descr': npy('<f4', '(3, 2)', f4(*range(6)), header="{'fortran_order': False, 'shape': (3, 2), }"),
    'header-shape-not-tuple': npy('<f4', '(3, 2)', f4(*range(6)),
                                  header="{'descr': '<f4', 'fortran_order': False, 'shape': 6, }"),
    # values
    'nan-value': npy('<f4', '(3, 2)', f4(0, 1, NAN, 3, 4, 5)),
    'nan-value-f8': npy('<f8', '(3, 2)', f8(0, 1, 2, 3, 4, NAN)),
    'inf-value': npy('<f8', '(3, 2)', f8(0, 1, 2, INF, 4, 5)),
    'negative-inf-value': npy('<f4', '(3, 2)', f4(-INF, 1, 2, 3, 4, 5)),
    'float64-beyond-float32': npy('<f8', '(3, 2)', f8(0, 1, 2, 1e300, 4, 5)),
}


def npy_case(name, emb=None):
    base = 'npy/' + name
    put(base + '/items.csv', NPY_ITEMS)
    put(base + '/interactions.csv', NPY_INTER)
    if emb is not None:
        put(base + '/emb.npy', emb)
    ARGS[base] = '--item-schema tags:multi,emb:dense(emb.npy)'


for name, content in npy_cases.items():
    npy_case(name, content)
npy_case('missing-file')
npy_case('emb-is-directory')
put('npy/emb-is-directory/emb.npy/.keep', "")


def check_manifest():
    """expected.tsv must list every case with the arguments above; prints what differs."""
    listed = {}
    with open(os.path.join(HERE, 'expected.tsv'), encoding='utf-8') as f:
        for line in f:
            if line.startswith('#') or not line.strip():
                continue
            kind, case, args, _ = line.rstrip('\n').split('\t', 3)
            listed[case] = args
    ok = True
    for case, args in sorted(ARGS.items()):
        if case not in listed:
            print('not in expected.tsv: %s\t%s\t%s\t?' % (case.split('/')[0], case, args))
            ok = False
        elif listed[case] != args:
            print('%s: expected.tsv has the arguments %r, this script %r' % (case, listed[case], args))
            ok = False
    for case in sorted(set(listed) - set(ARGS)):
        print('in expected.tsv, not written here: ' + case)
        ok = False
    return ok


sys.exit(0 if check_manifest() else 1)
