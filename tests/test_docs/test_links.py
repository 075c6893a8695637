# Copyright (c) mmseg_kd contributors. All rights reserved.
"""The docs' relative links point at files of the repository, and their
``#anchors`` at headings of those files (GitHub's slugs)."""
import os.path as osp
import re
import subprocess

import pytest

from ..conftest import REPO

#: ``[text](target)``; images too; not inside inline code
LINK = re.compile(r'\[[^\]]*\]\(([^)\s]+)\)')


def markdown_files():
    try:
        listed = subprocess.run(['git', 'ls-files', '*.md'],
                                cwd=REPO,
                                capture_output=True,
                                text=True,
                                check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip('not a git checkout: the docs are listed by git')
    return sorted(listed)


def slug(heading: str) -> str:
    """GitHub's anchor of a markdown heading: lower case, punctuation but
    hyphens and underscores dropped, spaces to hyphens."""
    text = re.sub(r'`|\*\*?', '', heading.strip().lower())
    text = re.sub(r'[^\w\- ]', '', text)
    return text.replace(' ', '-')


def anchors(path: str) -> set:
    out = set()
    in_code = False
    with open(path, encoding='utf-8') as f:
        for line in f:
            if line.startswith('```'):
                in_code = not in_code
            elif not in_code and line.startswith('#'):
                out.add(slug(line.lstrip('#')))
    return out


def links(path: str):
    """(line number, target) of every relative link outside code blocks."""
    in_code = False
    with open(path, encoding='utf-8') as f:
        for number, line in enumerate(f, 1):
            if line.startswith('```'):
                in_code = not in_code
                continue
            if in_code:
                continue
            for target in LINK.findall(re.sub(r'`[^`]*`', '', line)):
                if not re.match(r'[a-z]+:', target):  # http:, mailto:
                    yield number, target


def test_slug_matches_github():
    assert slug(' Calibrated weights against tuned ones\n') == (
        'calibrated-weights-against-tuned-ones')
    assert slug('What `tools/train.py` logs (and why)') == (
        'what-toolstrainpy-logs-and-why')


def broken_links(root: str, docs) -> list:
    """``doc:line: target (why)`` for every relative link of ``docs``
    (paths under ``root``) that names no file, or no heading of it."""
    broken = []
    for doc in docs:
        for number, target in links(osp.join(root, doc)):
            file_part, _, anchor = target.partition('#')
            path = osp.normpath(
                osp.join(root, osp.dirname(doc), file_part
                         ) if file_part else osp.join(root, doc))
            if not osp.exists(path):
                broken.append(f'{doc}:{number}: {target} (no such file)')
            elif anchor and path.endswith('.md') and anchor not in anchors(
                    path):
                broken.append(f'{doc}:{number}: {target} (no such heading)')
    return broken


def test_broken_links_are_found(tmp_path):
    (tmp_path / 'docs').mkdir()
    (tmp_path / 'docs' / 'a.md').write_text(
        '# A title\n\n## Part two\n\n[ok](#part-two) [ok](../b.md#b) '
        '[web](https://example.com/x#y) `[code](nowhere.md)`\n'
        '[gone](missing.md) [bad anchor](a.md#part-three)\n'
        '```\n[in a block](missing.md)\n```\n')
    (tmp_path / 'b.md').write_text('# B\n')
    assert broken_links(str(tmp_path), ['docs/a.md', 'b.md']) == [
        'docs/a.md:6: missing.md (no such file)',
        'docs/a.md:6: a.md#part-three (no such heading)'
    ]


def test_every_relative_link_resolves():
    broken = broken_links(REPO, markdown_files())
    assert not broken, 'broken links:\n' + '\n'.join(broken)
