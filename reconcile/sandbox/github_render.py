"""JSON shapes of the GitHub look-alike (REST API version 2022-11-28)."""

from __future__ import annotations

import base64
from typing import Any

from reconcile.sandbox.github_model import Issue, Label, Milestone, Repo, User
from reconcile.sandbox.stamps import github_time

WEB = "https://github.com"


def node_id(prefix: str, number: int) -> str:
    """A GraphQL-style global id (opaque to clients)."""
    return f"{prefix}_kwDO" + base64.b64encode(f"sandbox:{number}".encode()).decode().rstrip("=")


def user_json(user: User, api: str) -> dict[str, Any]:
    """The `simple-user` shape."""
    url = f"{api}/users/{user.login}"
    return {
        "login": user.login,
        "id": user.id,
        "node_id": node_id("U", user.id),
        "avatar_url": f"https://avatars.githubusercontent.com/u/{user.id}?v=4",
        "gravatar_id": "",
        "url": url,
        "html_url": f"{WEB}/{user.login}",
        "followers_url": f"{url}/followers",
        "following_url": f"{url}/following{{/other_user}}",
        "gists_url": f"{url}/gists{{/gist_id}}",
        "starred_url": f"{url}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{url}/subscriptions",
        "organizations_url": f"{url}/orgs",
        "repos_url": f"{url}/repos",
        "events_url": f"{url}/events{{/privacy}}",
        "received_events_url": f"{url}/received_events",
        "type": user.type,
        "user_view_type": "public",
        "site_admin": False,
    }


def public_user_json(user: User, api: str) -> dict[str, Any]:
    """The `public-user` shape answered by `GET /user`."""
    profile = {
        "name": user.login,
        "company": None,
        "blog": "",
        "location": None,
        "email": None,
        "hireable": None,
        "bio": None,
        "twitter_username": None,
        "public_repos": 0,
        "public_gists": 0,
        "followers": 0,
        "following": 0,
        "created_at": "2020-01-01T00:00:00Z",
        "updated_at": "2020-01-01T00:00:00Z",
    }
    return {**user_json(user, api), **profile}


def label_json(label: Label, repo_api: str) -> dict[str, Any]:
    """A label object."""
    return {
        "id": label.id,
        "node_id": node_id("LA", label.id),
        "url": f"{repo_api}/labels/{label.name}",
        "name": label.name,
        "color": label.color,
        "default": label.default,
        "description": label.description,
    }


def milestone_json(milestone: Milestone, repo: Repo, creator: dict[str, Any], api: str) -> dict[str, Any]:
    """The `milestone` shape (counts computed from the repository's issues)."""
    repo_api = f"{api}/repos/{repo.full_name}"
    mine = [i for i in repo.issues.values() if i.milestone == milestone.title]
    return {
        "url": f"{repo_api}/milestones/{milestone.number}",
        "html_url": f"{WEB}/{repo.full_name}/milestone/{milestone.number}",
        "labels_url": f"{repo_api}/milestones/{milestone.number}/labels",
        "id": milestone.id,
        "node_id": node_id("MI", milestone.id),
        "number": milestone.number,
        "state": "open",
        "title": milestone.title,
        "description": None,
        "creator": creator,
        "open_issues": sum(1 for i in mine if i.state == "open"),
        "closed_issues": sum(1 for i in mine if i.state == "closed"),
        "created_at": github_time(milestone.created_at),
        "updated_at": github_time(milestone.created_at),
        "closed_at": None,
        "due_on": None,
    }


def issue_json(
    issue: Issue, repo: Repo, people: dict[str, dict[str, Any]], milestone: dict[str, Any] | None, api: str
) -> dict[str, Any]:
    """The `issue` shape; `people` maps logins to simple-user objects."""
    repo_api = f"{api}/repos/{repo.full_name}"
    url = f"{repo_api}/issues/{issue.number}"
    kind = "pull" if issue.is_pull else "issues"
    assignees = [people[login] for login in issue.assignees]
    data: dict[str, Any] = {
        "url": url,
        "repository_url": repo_api,
        "labels_url": f"{url}/labels{{/name}}",
        "comments_url": f"{url}/comments",
        "events_url": f"{url}/events",
        "html_url": f"{WEB}/{repo.full_name}/{kind}/{issue.number}",
        "id": issue.id,
        "node_id": node_id("PR" if issue.is_pull else "I", issue.id),
        "number": issue.number,
        "title": issue.title,
        "user": people[issue.author],
        "labels": [label_json(repo.labels[name.lower()], repo_api) for name in issue.labels],
        "state": issue.state,
        "locked": issue.locked,
        "assignee": assignees[0] if assignees else None,
        "assignees": assignees,
        "milestone": milestone,
        "comments": issue.comments,
        "created_at": github_time(issue.created_at),
        "updated_at": github_time(issue.updated_at),
        "closed_at": github_time(issue.closed_at) if issue.closed_at else None,
        "author_association": "OWNER" if issue.author == repo.owner else "CONTRIBUTOR",
        "type": None,
        "active_lock_reason": None,
    }
    if issue.is_pull:
        data["draft"] = issue.draft
        data["pull_request"] = _pull_links(issue, repo, repo_api)
    data.update(_issue_tail(issue, url))
    return data


def _pull_links(issue: Issue, repo: Repo, repo_api: str) -> dict[str, Any]:
    html = f"{WEB}/{repo.full_name}/pull/{issue.number}"
    return {
        "url": f"{repo_api}/pulls/{issue.number}",
        "html_url": html,
        "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch",
        "merged_at": github_time(issue.merged_at) if issue.merged_at else None,
    }


def _issue_tail(issue: Issue, url: str) -> dict[str, Any]:
    reactions = {
        "url": f"{url}/reactions",
        "total_count": 0,
        "+1": 0,
        "-1": 0,
        "laugh": 0,
        "hooray": 0,
        "confused": 0,
        "heart": 0,
        "rocket": 0,
        "eyes": 0,
    }
    return {
        "sub_issues_summary": {"total": 0, "completed": 0, "percent_completed": 0},
        "issue_dependencies_summary": {
            "blocked_by": 0,
            "total_blocked_by": 0,
            "blocking": 0,
            "total_blocking": 0,
        },
        "body": issue.body,
        "closed_by": None,
        "reactions": reactions,
        "timeline_url": f"{url}/timeline",
        "performed_via_github_app": None,
        "state_reason": issue.state_reason,
    }


def repo_json(repo: Repo, owner: dict[str, Any], api: str) -> dict[str, Any]:
    """The `full-repository` shape."""
    full, url = repo.full_name, f"{api}/repos/{repo.full_name}"
    stamp = github_time(repo.created_at)
    open_count = sum(1 for i in repo.issues.values() if i.state == "open")
    data: dict[str, Any] = {
        "id": repo.id,
        "node_id": node_id("R", repo.id),
        "name": repo.name,
        "full_name": full,
        "private": repo.private,
        "owner": owner,
        "html_url": f"{WEB}/{full}",
        "description": None,
        "fork": False,
        "url": url,
        "homepage": None,
        "language": None,
        "size": 0,
        "default_branch": "main",
        "visibility": "private" if repo.private else "public",
        "has_issues": repo.issues_enabled,
        "has_projects": True,
        "has_wiki": True,
        "has_pages": False,
        "has_discussions": False,
        "has_downloads": True,
        "archived": False,
        "disabled": False,
        "mirror_url": None,
        "license": None,
        "forks": 0,
        "forks_count": 0,
        "open_issues": open_count,
        "open_issues_count": open_count,
        "watchers": 0,
        "watchers_count": 0,
        "stargazers_count": 0,
        "network_count": 0,
        "subscribers_count": 0,
        "pushed_at": stamp,
        "created_at": stamp,
        "updated_at": stamp,
        "git_url": f"git://github.com/{full}.git",
        "ssh_url": f"git@github.com:{full}.git",
        "clone_url": f"{WEB}/{full}.git",
        "svn_url": f"{WEB}/{full}",
    }
    data.update(_repo_links(url))
    return data


_REPO_LINKS = {
    "archive_url": "/{archive_format}{/ref}",
    "assignees_url": "/assignees{/user}",
    "blobs_url": "/git/blobs{/sha}",
    "branches_url": "/branches{/branch}",
    "collaborators_url": "/collaborators{/collaborator}",
    "comments_url": "/comments{/number}",
    "commits_url": "/commits{/sha}",
    "compare_url": "/compare/{base}...{head}",
    "contents_url": "/contents/{+path}",
    "contributors_url": "/contributors",
    "deployments_url": "/deployments",
    "downloads_url": "/downloads",
    "events_url": "/events",
    "forks_url": "/forks",
    "git_commits_url": "/git/commits{/sha}",
    "git_refs_url": "/git/refs{/sha}",
    "git_tags_url": "/git/tags{/sha}",
    "hooks_url": "/hooks",
    "issue_comment_url": "/issues/comments{/number}",
    "issue_events_url": "/issues/events{/number}",
    "issues_url": "/issues{/number}",
    "keys_url": "/keys{/key_id}",
    "labels_url": "/labels{/name}",
    "languages_url": "/languages",
    "merges_url": "/merges",
    "milestones_url": "/milestones{/number}",
    "notifications_url": "/notifications{?since,all,participating}",
    "pulls_url": "/pulls{/number}",
    "releases_url": "/releases{/id}",
    "stargazers_url": "/stargazers",
    "statuses_url": "/statuses/{sha}",
    "subscribers_url": "/subscribers",
    "subscription_url": "/subscription",
    "tags_url": "/tags",
    "teams_url": "/teams",
    "trees_url": "/git/trees{/sha}",
}


def _repo_links(url: str) -> dict[str, str]:
    return {key: url + suffix for key, suffix in _REPO_LINKS.items()}
