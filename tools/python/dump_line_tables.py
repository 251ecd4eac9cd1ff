"""Dumps the line tables of sample code objects, with the line of every
instruction as the running interpreter computes it, to JSON for the unit
tests of userspace/python/line_table.cpp.

    for v in ~/.pyenv/versions/3.*/bin/python3 /usr/bin/python3; do
      $v tools/python/dump_line_tables.py tests/unit/data/python; done
"""
import dis
import json
import os
import sys

SAMPLE = '''
import asyncio

class Handler:
    def get(self, request):
        total = 0
        for i in range(10):
            total += i
        return (request,
                total,
                [x * 2 for x in range(3)])

    async def handle(self):
        await asyncio.sleep(0)
        try:
            value = 1 / 0
        except ZeroDivisionError:
            value = None
        finally:
            pass
        return value

def long_body(a):
''' + ''.join('    a = a + %d\n' % i for i in range(200)) + '''
    return a
''' + '\n' * 300 + '''
def after_gap(x):
    if x:
        return lambda y: (
            y +
            x)
''' + '\n' * 40 + '''
    return None
'''


def code_objects(code):
    yield code
    for const in code.co_consts:
        if hasattr(const, 'co_code'):
            yield from code_objects(const)


def table_format():
    if sys.version_info >= (3, 11):
        return 'locations311'
    if sys.version_info >= (3, 10):
        return 'linetable310'
    return 'lnotab'


def expected_lines(code):
    """(instruction index in code units, line or 0) for every code unit."""
    units = len(code.co_code) // 2
    if sys.version_info >= (3, 11):
        return [[i, pos[0] or 0] for i, pos in enumerate(code.co_positions())]
    if sys.version_info >= (3, 10):
        lines = [0] * units
        for start, end, line in code.co_lines():
            for b in range(start, end, 2):
                lines[b // 2] = line or 0
        return [[i, line] for i, line in enumerate(lines)]
    starts = list(dis.findlinestarts(code))
    out = []
    for i in range(units):
        line = code.co_firstlineno
        for offset, start_line in starts:
            if offset <= 2 * i:
                line = start_line
        out.append([i, line])
    return out


def main():
    out_dir = sys.argv[1]
    top = compile(SAMPLE, 'sample.py', 'exec')
    codes = []
    for code in code_objects(top):
        table = code.co_linetable if sys.version_info >= (3, 10) else code.co_lnotab
        codes.append({
            'name': getattr(code, 'co_qualname', code.co_name),
            'firstlineno': code.co_firstlineno,
            'table': table.hex(),
            'expected': expected_lines(code),
        })
    v = sys.version_info
    doc = {'version': '%d.%d.%d' % (v.major, v.minor, v.micro),
           'format': table_format(), 'codes': codes}
    path = os.path.join(out_dir, 'lines-%d.%d.json' % (v.major, v.minor))
    if os.path.exists(path):  # Debian's 3.11 next to pyenv's: keep both
        path = os.path.join(out_dir, 'lines-%d.%d.%d.json' % (v.major, v.minor, v.micro))
    with open(path, 'w') as f:
        json.dump(doc, f, separators=(',', ':'))
        f.write('\n')


if __name__ == '__main__':
    main()
