"""Common Transfer Files: the DfE's XML for a pupil's record moving between schools.

``records`` holds the transferable record as plain values (what the file carries);
``reader`` turns a file's bytes into those, safely (no DTD, no entities, a size limit, one
declared version), listing every element it refuses and why; ``writer`` turns them back
into a file; ``selectors`` read a school's pupils as records; ``services`` preview and
import a file (all or nothing) and record who did it.
"""
