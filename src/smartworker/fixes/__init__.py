"""From a verified fix to healed jobs: a git branch and patch, a person's review, an optional pull
request, applying the fix, and retrying the dead jobs it covers.

    delivery.py   verified fix -> branch smartworker/fix/<id> (one commit) + format-patch file
    git.py        git through argument lists, with the user's hooks, index and branch left alone
    review.py     proposed -> approved | rejected -> applied -> deployed, each with who and when
    apply.py      writing a fix into APP_ROOT_DIR only over files unchanged since it was made
    providers.py  GitHub / GitLab pull and merge requests over their REST APIs
    heal.py       retrying the fix's dead jobs in bounded batches once it runs
    reload.py     workers re-import the application when its code changed on disk
"""
