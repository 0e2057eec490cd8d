"""What a bundle is on disk, step by step.

* :mod:`.plan`: which archive goes to which local channel;
* :mod:`.channels`: local ``repodata.json`` documents from upstream's original entries;
* :mod:`.outputs`: environment files, the lockfile copy and the manifest;
* :mod:`.staging`: the staging directory and the lock on OUT;
* :mod:`.transaction`: the one way a bundle changes (lock, repair, merge, verify, swap);
* :mod:`.verify`: re-checking a bundle someone handed over.
"""
