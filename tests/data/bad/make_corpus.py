#!/usr/bin/env python3
"""Writes the bad-input corpus: one directory (or file) per case, each with ONE thing broken.

Kinds: csv/ (generic CSV with schemas; a file `args` holds the schema strings),
ml100k/ and ml1m/ (MovieLens directories), npy/ (.npy files read as a dense item feature),
checkpoint/ (model files loaded into a small Meta-SGD model). The expected errors are in
expected.tsv, checked by tests/data/test_bad_inputs.cpp and, through the command line, by
examples/check_bad_inputs.cmake. Run from this directory; it rewrites every case.
"""
import os, shutil, struct, zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def put(path, content):
    path = os.path.join(HERE, path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(content if isinstance(content, bytes) else content.encode('latin-1'))


# ---------------------------------------------------------------- generic CSV
INTER = "user,item,rating,timestamp\nu1,i1,4,10\nu1,i2,2,11\nu2,i1,5,12\nu2,i3,3,13\n"
USERS = "user,region,age\nu1,north,31\nu2,south,45\n"
ITEMS = "item,tags,price\ni1,a|b,9.5\ni2,b,3\ni3,,4\n"
SCHEMA = "region:cat,age:num\ntags:multi,price:num\n"


def csv(name, inter=INTER, users=USERS, items=ITEMS, schema=SCHEMA, extra=None):
    base = 'csv/' + name + '/'
    if inter is not None: put(base + 'interactions.csv', inter)
    if users is not None: put(base + 'users.csv', users)
    if items is not None: put(base + 'items.csv', items)
    put(base + 'args', schema)
    for k, v in (extra or {}).items(): put(base + k, v)


csv('empty-interactions', inter="")
csv('header-only', inter="user,item,rating\n")
csv('missing-rating-column', inter="user,item\nu1,i1\n")
csv('short-row', inter="user,item,rating\nu1,i1,4\nu2,i1\n")
csv('long-row', inter="user,item,rating\nu1,i1,4,10,extra\n")
csv('rating-not-a-number', inter="user,item,rating\nu1,i1,four\n")
csv('rating-nan', inter="user,item,rating\nu1,i1,nan\n")
csv('rating-inf', inter="user,item,rating\nu1,i1,inf\n")
csv('rating-huge', inter="user,item,rating\nu1,i1,1e999\n")
csv('timestamp-not-integer', inter="user,item,rating,timestamp\nu1,i1,4,yesterday\n")
csv('timestamp-overflow', inter="user,item,rating,timestamp\nu1,i1,4,99999999999999999999999\n")
csv('unknown-user', inter="user,item,rating\nu9,i1,4\n")
csv('unknown-item', inter="user,item,rating\nu1,i9,4\n")
csv('duplicate-header-column', users="user,region,region\nu1,north,south\nu2,south,north\n", schema="region:cat,region:cat\ntags:multi,price:num\n")
csv('duplicate-user', users="user,region,age\nu1,north,31\nu1,south,45\n")
csv('user-numeric-not-a-number', users="user,region,age\nu1,north,old\nu2,south,45\n")
csv('item-numeric-inf', items="item,tags,price\ni1,a,inf\ni2,b,3\ni3,,4\n")
csv('unknown-schema-kind', schema="region:cat,age:blob\ntags:multi,price:num\n")
csv('schema-missing-kind', schema="region,age:num\ntags:multi,price:num\n")
csv('schema-unknown-field', schema="region:cat,height:num\ntags:multi,price:num\n")
csv('schema-empty-field-name', schema=":cat,age:num\ntags:multi,price:num\n")
csv('schema-duplicate-field', schema="region:cat,region:cat,age:num\ntags:multi,price:num\n")
csv('schema-dense-without-file', schema="region:cat,age:num\ntags:multi,price:dense()\n")
csv('schema-without-users-file', users=None)
csv('nul-byte', inter="user,item,rating\nu1,i1,4\nu2,i\x001,5\n")
csv('utf16-bom', inter="\xff\xfeu\x00s\x00e\x00r\x00,\x00i\x00t\x00e\x00m\x00\n\x00")
csv('stray-quote', inter='user,item,rating\nu1,"i1,4\n')
csv('text-after-closing-quote', inter='user,item,rating\n"u1"x,i1,4\n')
csv('lone-cr', inter="user,item,rating\nu1,i1,4\ru2,i1,5\n")
csv('empty-user-key', inter="user,item,rating\n,i1,4\n")
csv('binary-garbage', inter=bytes(range(256)) * 4)
csv('missing-interactions-file', inter=None)
csv('items-header-only', items="item,tags,price\n")
csv('schema-trailing-comma', schema="region:cat,age:num,\ntags:multi,price:num\n")

# ---------------------------------------------------------------- MovieLens 100K
GENRES = "|".join(["0"] * 19)
UUSER = "1|24|M|technician|85711\n2|53|F|other|94043\n"
UITEM = "1|Toy Story (1995)|01-Jan-1995||http://x|" + GENRES + "\n2|GoldenEye (1995)|01-Jan-1995||http://y|" + GENRES + "\n"
UDATA = "1\t1\t5\t874965758\n1\t2\t3\t876893171\n2\t1\t4\t878542960\n"


def ml100k(name, user=UUSER, item=UITEM, data=UDATA):
    base = 'ml100k/' + name + '/'
    if user is not None: put(base + 'u.user', user)
    if item is not None: put(base + 'u.item', item)
    if data is not None: put(base + 'u.data', data)


ml100k('missing-u-data', data=None)
ml100k('missing-u-user', user=None)
ml100k('missing-u-item', item=None)
ml100k('empty-u-user', user="")
ml100k('empty-u-data', data="")
ml100k('rating-not-a-number', data="1\t1\tfive\t874965758\n")
ml100k('rating-out-of-range', data="1\t1\t7\t874965758\n")
ml100k('rating-negative', data="1\t1\t-1\t874965758\n")
ml100k('rating-nan', data="1\t1\tnan\t874965758\n")
ml100k('short-rating-row', data="1\t1\t5\n")
ml100k('long-rating-row', data="1\t1\t5\t874965758\t9\n")
ml100k('timestamp-not-integer', data="1\t1\t5\tnoon\n")
ml100k('timestamp-overflow', data="1\t1\t5\t99999999999999999999999\n")
ml100k('unknown-user', data="9\t1\t5\t874965758\n")
ml100k('unknown-item', data="1\t9\t5\t874965758\n")
ml100k('huge-user-id', data="99999999999999999999\t1\t5\t874965758\n")
ml100k('negative-user-id', data="-1\t1\t5\t874965758\n")
ml100k('age-not-a-number', user="1|old|M|technician|85711\n")
ml100k('age-out-of-range', user="1|200|M|technician|85711\n")
ml100k('user-short-row', user="1|24|M|technician\n")
ml100k('duplicate-user', user="1|24|M|technician|85711\n1|53|F|other|94043\n")
ml100k('item-short-row', item="1|Toy Story (1995)|01-Jan-1995||http://x|0|0\n")
ml100k('item-bad-date', item="1|Toy Story (1995)|Jan-01-95||http://x|" + GENRES + "\n")
ml100k('genre-flag-not-binary', item="1|Toy Story (1995)|01-Jan-1995||http://x|" + "|".join(["0"] * 18 + ["2"]) + "\n")
ml100k('duplicate-item', item="1|A (1995)|01-Jan-1995||x|" + GENRES + "\n1|B (1995)|01-Jan-1995||y|" + GENRES + "\n")
ml100k('comma-separated-data', data="1,1,5,874965758\n")
ml100k('nul-byte-in-data', data="1\t1\t5\t8749\x0065758\n")
ml100k('utf16-u-user', user="\xff\xfe1\x00|\x002\x004\x00\n\x00")
ml100k('binary-u-data', data=bytes(range(1, 256)) * 8)
ml100k('rating-row-with-spaces-only', data="   \n\t\t\t\n")
ml100k('u-data-is-directory', data=None)
os.makedirs(os.path.join(HERE, 'ml100k/u-data-is-directory/u.data'), exist_ok=True)
put('ml100k/u-data-is-directory/u.data/.keep', "")

# ---------------------------------------------------------------- MovieLens 1M
USERS1M = "1::F::1::10::48067\n2::M::56::16::70072\n"
MOVIES1M = "1::Toy Story (1995)::Animation|Children's|Comedy\n2::Jumanji (1995)::Adventure|Children's|Fantasy\n"
RATINGS1M = "1::1::5::978300760\n1::2::3::978302109\n2::1::4::978301968\n"


def ml1m(name, users=USERS1M, movies=MOVIES1M, ratings=RATINGS1M):
    base = 'ml1m/' + name + '/'
    if users is not None: put(base + 'users.dat', users)
    if movies is not None: put(base + 'movies.dat', movies)
    if ratings is not None: put(base + 'ratings.dat', ratings)


ml1m('missing-ratings', ratings=None)
ml1m('missing-users', users=None)
ml1m('missing-movies', movies=None)
ml1m('empty-users', users="")
ml1m('empty-movies', movies="")
ml1m('empty-ratings', ratings="")
ml1m('rating-not-a-number', ratings="1::1::x::978300760\n")
ml1m('rating-out-of-range', ratings="1::1::0::978300760\n")
ml1m('rating-inf', ratings="1::1::inf::978300760\n")
ml1m('short-rating-row', ratings="1::1::5\n")
ml1m('long-rating-row', ratings="1::1::5::978300760::1\n")
ml1m('single-colon-separator', ratings="1:1:5:978300760\n")
ml1m('timestamp-not-integer', ratings="1::1::5::later\n")
ml1m('timestamp-overflow', ratings="1::1::5::99999999999999999999999\n")
ml1m('unknown-user', ratings="7::1::5::978300760\n")
ml1m('unknown-movie', ratings="1::7::5::978300760\n")
ml1m('huge-movie-id', ratings="1::99999999999999999999::5::978300760\n")
ml1m('age-not-a-group', users="1::F::2::10::48067\n")
ml1m('age-not-a-number', users="1::F::young::10::48067\n")
ml1m('user-short-row', users="1::F::1::10\n")
ml1m('duplicate-user', users="1::F::1::10::48067\n1::M::56::16::70072\n")
ml1m('movie-short-row', movies="1::Toy Story (1995)\n")
ml1m('movie-long-row', movies="1::Toy Story (1995)::Comedy::extra\n")
ml1m('duplicate-movie', movies="1::A (1995)::Comedy\n1::B (1996)::Drama\n")
ml1m('movie-empty-id', movies="::Toy Story (1995)::Comedy\n2::Jumanji (1995)::Adventure\n")
ml1m('nul-byte-in-ratings', ratings="1::1::5::97830\x000760\n")
ml1m('utf16-users', users="\xff\xfe1\x00:\x00:\x00F\x00\n\x00")
ml1m('binary-ratings', ratings=bytes(range(1, 256)) * 8)
ml1m('tab-separated-ratings', ratings="1\t1\t5\t978300760\n")
ml1m('empty-user-id', ratings="::1::5::978300760\n")
ml1m('negative-rating', ratings="1::1::-3::978300760\n")

# ---------------------------------------------------------------- .npy
def npy(descr, shape, payload, version=1, fortran=False, header=None, magic=b'\x93NUMPY'):
    h = header if header is not None else "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (
        descr, 'True' if fortran else 'False', shape)
    pre = 10 if version == 1 else 12
    pad = (64 - (pre + len(h) + 1) % 64) % 64
    h = h + ' ' * pad + '\n'
    size = struct.pack('<H', len(h)) if version == 1 else struct.pack('<I', len(h))
    return magic + bytes([version, 0]) + size + h.encode('latin-1') + payload


def f4(*v): return struct.pack('<%df' % len(v), *v)


NPY_ITEMS = "item,tags\ni1,a\ni2,b\ni3,\n"
npy_cases = {
    'dtype-int32': npy('<i4', '(3, 2)', struct.pack('<6i', *range(6))),
    'dtype-big-endian': npy('>f4', '(3, 2)', struct.pack('>6f', *range(6))),
    'dtype-bool': npy('|b1', '(3, 2)', bytes(6)),
    'dtype-float16': npy('<f2', '(3, 2)', bytes(12)),
    'dtype-object': npy('|O', '(3, 2)', bytes(48)),
    'dtype-complex': npy('<c8', '(3, 2)', bytes(48)),
    'three-dimensional': npy('<f4', '(3, 1, 2)', f4(*range(6))),
    'zero-dimensional': npy('<f4', '()', f4(1)),
    'rows-not-items': npy('<f4', '(2, 3)', f4(*range(6))),
    'fortran-order': npy('<f4', '(3, 2)', f4(*range(6)), fortran=True),
    'truncated-payload': npy('<f4', '(3, 2)', f4(*range(5))),
    'payload-too-long': npy('<f4', '(3, 2)', f4(*range(7))),
    'bad-magic': npy('<f4', '(3, 2)', f4(*range(6)), magic=b'\x93NUMPX'),
    'version-9': npy('<f4', '(3, 2)', f4(*range(6)), version=9),
    'header-length-beyond-file': b'\x93NUMPY\x01\x00\xff\xff' + b"{'descr': '<f4'",
    'huge-shape-overflow': npy('<f4', '(18446744073709551615, 18446744073709551615)', f4(1)),
    'huge-shape': npy('<f4', '(4611686018427387904, 2)', f4(*range(6))),
    'nan-value': npy('<f4', '(3, 2)', f4(0, 1, float('nan'), 3, 4, 5)),
    'inf-value': npy('<f8', '(3, 2)', struct.pack('<6d', 0, 1, 2, float('inf'), 4, 5)),
    'float64-beyond-float32': npy('<f8', '(3, 2)', struct.pack('<6d', 0, 1, 2, 1e300, 4, 5)),
    'empty-file': b'',
    'magic-only': b'\x93NUMPY',
    'header-not-a-dict': npy('<f4', '(3, 2)', f4(*range(6)), header="['descr', '<f4']"),
    'header-without-shape': npy('<f4', '(3, 2)', f4(*range(6)), header="{'descr': '<f4', 'fortran_order': False, }"),
    'header-shape-not-tuple': npy('<f4', '(3, 2)', f4(*range(6)), header="{'descr': '<f4', 'fortran_order': False, 'shape': 6, }"),
    'text-file': b"0.1,0.2\n0.3,0.4\n0.5,0.6\n",
    'csv-renamed': b"item,x\ni1,1\n",
    'version-2-truncated': b'\x93NUMPY\x02\x00\x10\x00',
    'header-not-newline-terminated': b'\x93NUMPY\x01\x00\x10\x00' + b"{'descr': '<f4'}" + f4(1),
    'minor-version': b'\x93NUMPY\x01\x05\x10\x00' + b"{'descr': '<f4'}" + f4(1),
    'shape-negative': npy('<f4', '(-3, 2)', f4(*range(6))),
}
for name, content in npy_cases.items():
    put('npy/' + name + '/emb.npy', content)
    put('npy/' + name + '/items.csv', NPY_ITEMS)
    put('npy/' + name + '/interactions.csv', "user,item,rating\nu1,i1,4\n")
    put('npy/' + name + '/args', "\ntags:multi,emb:dense(emb.npy)\n")
put('npy/missing-file/items.csv', NPY_ITEMS)
put('npy/missing-file/interactions.csv', "user,item,rating\nu1,i1,4\n")
put('npy/missing-file/args', "\ntags:multi,emb:dense(emb.npy)\n")
